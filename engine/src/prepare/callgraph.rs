//! The module's call graph: which functions are recursive (normative, see
//! "Stack height" in `specs/gas.md`), which can reach a recursive one, and
//! an order in which every function comes after the functions it calls
//! (except within a cycle), so the injector knows a callee's calling
//! convention and exit offset before it rewrites a call to it.

/// One defined function as the call graph sees it.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    /// Defined functions called directly (indices among defined functions).
    pub(crate) callees: &'a [usize],
    /// Contains a `call_indirect` (an edge to every function in the table).
    pub(crate) calls_indirect: bool,
}

/// What the injector needs from the call graph.
#[derive(Debug)]
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
}

impl CallGraph {
    /// Tarjan's algorithm, iterative. `table` lists the defined functions
    /// named by element segments (the possible `call_indirect` targets).
    pub(crate) fn new(nodes: &[Node<'_>], table: &[usize]) -> Self {
        let n = nodes.len();
        // Edges of node `v`: `targets[first[v]..first[v + 1]]`, sorted,
        // without repeats.
        let mut targets: Vec<usize> = Vec::new();
        let mut first = Vec::with_capacity(n + 1);
        first.push(0);
        for node in nodes {
            let start = targets.len();
            targets.extend(node.callees.iter().copied().filter(|&c| c < n));
            if node.calls_indirect {
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
        let edges = |v: usize| &targets[first[v]..first[v + 1]];

        let mut order = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut members = Vec::with_capacity(n);
        let mut ends = Vec::new();
        // (node, next edge to visit)
        let mut work: Vec<(usize, usize)> = Vec::new();
        let mut next = 0;
        for root in 0..n {
            if order[root] != usize::MAX {
                continue;
            }
            work.push((root, 0));
            order[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut edge)) = work.last_mut() {
                if let Some(&w) = edges(v).get(*edge) {
                    *edge += 1;
                    if order[w] == usize::MAX {
                        order[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(order[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
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

        let mut graph = Self {
            recursive: vec![false; n],
            reaches_recursion: vec![false; n],
            members,
            ends,
        };
        // Components come callees first, so a callee outside the component
        // is decided before its callers.
        for k in 0..graph.ends.len() {
            let component = graph.component(k);
            let cyclic = component.len() > 1 || edges(component[0]).contains(&component[0]);
            let reaches = cyclic
                || component
                    .iter()
                    .any(|&f| edges(f).iter().any(|&g| graph.reaches_recursion[g]));
            for i in graph.range(k) {
                let f = graph.members[i];
                graph.recursive[f] = cyclic;
                graph.reaches_recursion[f] = reaches;
            }
        }
        graph
    }

    fn range(&self, k: usize) -> std::ops::Range<usize> {
        let start = k.checked_sub(1).map_or(0, |j| self.ends[j]);
        start..self.ends[k]
    }

    fn component(&self, k: usize) -> &[usize] {
        &self.members[self.range(k)]
    }

    /// Strongly connected components, every one after those it calls.
    pub(crate) fn components(&self) -> impl Iterator<Item = &[usize]> {
        (0..self.ends.len()).map(|k| self.component(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_reachability_and_order() {
        // 0 -> 1 -> 2 -> 1 (cycle {1, 2}), 3 -> 0, 4 calls indirectly (table: 4).
        let calls: [&[usize]; 5] = [&[1], &[2], &[1], &[0], &[]];
        let nodes: Vec<Node<'_>> = calls
            .iter()
            .enumerate()
            .map(|(i, callees)| Node {
                callees,
                calls_indirect: i == 4,
            })
            .collect();
        let graph = CallGraph::new(&nodes, &[4]);
        assert_eq!(graph.recursive, [false, true, true, false, true]);
        assert_eq!(graph.reaches_recursion, [true, true, true, true, true]);
        let components: Vec<&[usize]> = graph.components().collect();
        let position = |f: usize| components.iter().position(|c| c.contains(&f)).unwrap();
        assert!(position(1) < position(0) && position(0) < position(3));
        assert_eq!(components[position(1)].len(), 2);
    }
}
