//! The module's call graph: which functions are recursive (normative, see
//! "Stack height" in `specs/gas.md`), which can reach a recursive one, and
//! an order in which every function comes after the functions it calls
//! (except within a cycle), so the injector knows a callee's calling
//! convention and exit offset before it rewrites a call to it.

/// What the injector needs from the call graph.
#[derive(Debug, Default)]
pub(crate) struct CallGraph {
    /// On a cycle of the call graph.
    pub(crate) recursive: Vec<bool>,
    /// Recursive, or calls (directly or through the table) a function that
    /// reaches a recursive one: needs the stack budget.
    pub(crate) reaches_recursion: Vec<bool>,
    /// The members of every strongly connected component, one component
    /// after the other; component `k` ends at `ends[k]`.
    members: Vec<usize>,
    ends: Vec<usize>,
    /// Working buffers, kept for the next module (see `Scratch`).
    work: Work,
}

/// The buffers of Tarjan's algorithm.
#[derive(Debug, Default)]
struct Work {
    /// Edges of node `v`: `targets[first[v]..first[v + 1]]`, sorted,
    /// without repeats.
    targets: Vec<usize>,
    first: Vec<usize>,
    order: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    /// (node, next edge to visit)
    visits: Vec<(usize, usize)>,
}

impl CallGraph {
    /// The graph of `n` defined functions: function `v` calls the defined
    /// functions `callees(v)` directly and, if `calls_indirect(v)`, every
    /// function in `table` (the defined functions named by element
    /// segments). Tarjan's algorithm, iterative; keeps the buffers of an
    /// earlier graph.
    pub(crate) fn compute<'c>(
        &mut self,
        n: usize,
        callees: impl Fn(usize) -> &'c [usize],
        calls_indirect: impl Fn(usize) -> bool,
        table: &[usize],
    ) {
        let Work {
            targets,
            first,
            order,
            low,
            on_stack,
            stack,
            visits,
        } = &mut self.work;
        targets.clear();
        first.clear();
        first.push(0);
        for v in 0..n {
            let start = targets.len();
            targets.extend(callees(v).iter().copied().filter(|&c| c < n));
            if calls_indirect(v) {
                targets.extend(table.iter().copied().filter(|&t| t < n));
            }
            targets[start..].sort_unstable();
            let mut kept = start;
            for j in start..targets.len() {
                if kept == start || targets[j] != targets[kept - 1] {
                    targets[kept] = targets[j];
                    kept += 1;
                }
            }
            targets.truncate(kept);
            first.push(kept);
        }
        let (targets, first) = (&*targets, &*first);
        let edges = |v: usize| &targets[first[v]..first[v + 1]];

        order.clear();
        order.resize(n, usize::MAX);
        low.clear();
        low.resize(n, 0);
        on_stack.clear();
        on_stack.resize(n, false);
        stack.clear();
        visits.clear();
        let (members, ends) = (&mut self.members, &mut self.ends);
        members.clear();
        ends.clear();
        let mut next = 0;
        for root in 0..n {
            if order[root] != usize::MAX {
                continue;
            }
            visits.push((root, 0));
            order[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut edge)) = visits.last_mut() {
                if let Some(&w) = edges(v).get(*edge) {
                    *edge += 1;
                    if order[w] == usize::MAX {
                        order[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        visits.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(order[w]);
                    }
                    continue;
                }
                visits.pop();
                if let Some(&(parent, _)) = visits.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == order[v] {
                    // The component is the stack down to `v`, in the order
                    // its members were reached.
                    let mut start = stack.len();
                    while start > 0 {
                        start -= 1;
                        on_stack[stack[start]] = false;
                        if stack[start] == v {
                            break;
                        }
                    }
                    members.extend_from_slice(&stack[start..]);
                    stack.truncate(start);
                    ends.push(members.len());
                }
            }
        }

        self.recursive.clear();
        self.recursive.resize(n, false);
        self.reaches_recursion.clear();
        self.reaches_recursion.resize(n, false);
        // Components come callees first, so a callee outside the component
        // is decided before its callers.
        for k in 0..self.ends.len() {
            let range = component_range(&self.ends, k);
            let component = &self.members[range.clone()];
            let cyclic = component.len() > 1 || edges(component[0]).contains(&component[0]);
            let reaches = cyclic
                || component
                    .iter()
                    .any(|&f| edges(f).iter().any(|&g| self.reaches_recursion[g]));
            for i in range {
                let f = self.members[i];
                self.recursive[f] = cyclic;
                self.reaches_recursion[f] = reaches;
            }
        }
    }

    fn component(&self, k: usize) -> &[usize] {
        &self.members[component_range(&self.ends, k)]
    }

    /// Strongly connected components, every one after those it calls.
    pub(crate) fn components(&self) -> impl Iterator<Item = &[usize]> {
        (0..self.ends.len()).map(|k| self.component(k))
    }
}

/// Where component `k` lies in the members list, given where each ends.
fn component_range(ends: &[usize], k: usize) -> std::ops::Range<usize> {
    let start = k.checked_sub(1).map_or(0, |j| ends[j]);
    start..ends[k]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_reachability_and_order() {
        // 0 -> 1 -> 2 -> 1 (cycle {1, 2}), 3 -> 0, 4 calls indirectly (table: 4).
        let calls: [&[usize]; 5] = [&[1], &[2], &[1], &[0], &[]];
        let mut graph = CallGraph::default();
        // A larger graph first: its buffers must not leak into the next.
        graph.compute(7, |v| if v < 6 { &[6] } else { &[] }, |_| true, &[0]);
        graph.compute(5, |v| calls[v], |v| v == 4, &[4]);
        assert_eq!(graph.recursive, [false, true, true, false, true]);
        assert_eq!(graph.reaches_recursion, [true, true, true, true, true]);
        let components: Vec<&[usize]> = graph.components().collect();
        let position = |f: usize| components.iter().position(|c| c.contains(&f)).unwrap();
        assert!(position(1) < position(0) && position(0) < position(3));
        assert_eq!(components[position(1)].len(), 2);
    }
}
