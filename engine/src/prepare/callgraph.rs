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
    /// Strongly connected components, every one after those it calls.
    pub(crate) components: Vec<Vec<usize>>,
}

impl CallGraph {
    /// Tarjan's algorithm, iterative. `table` lists the defined functions
    /// named by element segments (the possible `call_indirect` targets).
    pub(crate) fn new(nodes: &[Node<'_>], table: &[usize]) -> Self {
        let n = nodes.len();
        let edges: Vec<Vec<usize>> = nodes
            .iter()
            .map(|node| {
                let mut out: Vec<usize> = node.callees.iter().copied().filter(|&c| c < n).collect();
                if node.calls_indirect {
                    out.extend(table.iter().copied().filter(|&t| t < n));
                }
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect();

        let mut order = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut components = Vec::new();
        let mut next = 0;
        for root in 0..n {
            if order[root] != usize::MAX {
                continue;
            }
            // (node, next edge to visit)
            let mut work = vec![(root, 0usize)];
            order[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut edge)) = work.last_mut() {
                if let Some(&w) = edges[v].get(*edge) {
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
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    component.reverse();
                    components.push(component);
                }
            }
        }

        let mut recursive = vec![false; n];
        let mut reaches_recursion = vec![false; n];
        // Components come callees first, so a callee outside the component
        // is decided before its callers.
        for component in &components {
            let cyclic = component.len() > 1 || edges[component[0]].contains(&component[0]);
            let reaches = cyclic
                || component
                    .iter()
                    .any(|&f| edges[f].iter().any(|&g| reaches_recursion[g]));
            for &f in component {
                recursive[f] = cyclic;
                reaches_recursion[f] = reaches;
            }
        }
        Self {
            recursive,
            reaches_recursion,
            components,
        }
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
        let position = |f: usize| {
            graph
                .components
                .iter()
                .position(|c| c.contains(&f))
                .unwrap()
        };
        assert!(position(1) < position(0) && position(0) < position(3));
        assert_eq!(graph.components[position(1)].len(), 2);
    }
}
