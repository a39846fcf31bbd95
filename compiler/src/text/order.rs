//! Which edges of a `.snn` file are recurrent, and in which order to create the edges so
//! that the IR agrees.
//!
//! The IR decides recurrence by depth-first search from the Input nodes (creation order),
//! following each node's out-edges in creation order: an edge that closes a cycle is a
//! *back edge* and carries the previous time step's value ([`crate::ir::Schedule`]). The
//! text format states it instead: **an argument naming a node of the same cycle that is
//! defined at or after the current statement is recurrent**. References to later
//! statements outside cycles are ordinary (the file is a graph, not a program).
//!
//! Given that intent, [`plan`] orders the per-node out-edges so the IR's search finds
//! exactly those back edges. For a file in evaluation order (what the printer writes:
//! Inputs, then a reverse postorder of the IR's search), the statement order is the
//! reverse finishing order of some search, and [`Recon`] rebuilds one such search: at
//! each node it tries the unvisited successors that could finish next (everything they
//! reach finishes before them), in statement order, backtracking on failure. Back edges
//! depend only on the finishing order, so any search it finds is equivalent. A hand
//! written order that no search can produce falls back to statement order; the caller
//! then reports the edges where the IR and the text disagree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Edges in creation order and which ones the text marks recurrent.
pub(crate) struct Plan {
    /// Permutation of the edge indices: create the edges in this order.
    pub order: Vec<usize>,
    /// Per edge (input index): the text marks it recurrent.
    pub recurrent: Vec<bool>,
}

/// Work limit for the search (node and edge visits) and its recursion depth; beyond
/// them the plan falls back to statement order.
const BUDGET: usize = 20_000_000;
const MAX_DEPTH: usize = 2_000;

/// `edges` are `(source, destination)` statement indices in statement and argument order.
pub(crate) fn plan(n: usize, is_input: &[bool], edges: &[(usize, usize)]) -> Plan {
    let scc = scc_ids(n, edges);
    let recurrent: Vec<bool> = edges.iter().map(|&(s, d)| s >= d && scc[s] == scc[d]).collect();
    let natural = (0..edges.len()).collect();
    if !recurrent.contains(&true) {
        return Plan { order: natural, recurrent };
    }
    let mut outs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (e, &(s, d)) in edges.iter().enumerate() {
        outs[s].push((d, e));
    }
    let Some(sigma) = topo_without(n, edges, &recurrent) else { return Plan { order: natural, recurrent } };
    let targets: Vec<Vec<usize>> = outs.iter().map(|o| o.iter().map(|&(d, _)| d).collect()).collect();
    let Some(search) = Recon::run(&sigma, is_input, &targets) else { return Plan { order: natural, recurrent } };
    let arcs: Vec<(usize, usize)> =
        (0..n).flat_map(|s| out_arcs(&outs[s], &search.tree[s], &search.after[s])).collect();
    Plan { order: merge(edges, &arcs), recurrent }
}

/// What the search needs of a node's out-edge order, as "edge before edge" arcs: each
/// child's edge before the next child's, and before every edge to a node first reached
/// inside that child's search (`after`). Edges to nodes the search had already reached
/// are free; leaving them free (rather than fixing a whole sequence) is what lets
/// [`merge`] keep every node's inputs in argument order.
fn out_arcs(outs: &[(usize, usize)], children: &[usize], after: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let edge_to = |d: usize| outs.iter().find(|&&(t, _)| t == d).map(|&(_, e)| e);
    let child_edges: Vec<usize> = children.iter().filter_map(|&c| edge_to(c)).collect();
    let mut arcs: Vec<(usize, usize)> = child_edges.windows(2).map(|w| (w[0], w[1])).collect();
    for &(w, k) in after {
        if let (Some(&first), Some(e)) = (child_edges.get(k), edge_to(w)) {
            arcs.push((first, e));
        }
    }
    arcs
}

/// One creation order for all edges that honours the search's `arcs` (required) and,
/// when that is compatible, each node's in-edges in argument order (so printing lists
/// the inputs as written); otherwise as close to statement order as the arcs allow.
fn merge(edges: &[(usize, usize)], arcs: &[(usize, usize)]) -> Vec<usize> {
    let m = edges.len();
    let mut in_arcs: Vec<(usize, usize)> = Vec::new();
    for chain in (0..m).collect::<Vec<_>>().chunk_by(|&a, &b| edges[a].1 == edges[b].1) {
        in_arcs.extend(chain.windows(2).map(|w| (w[0], w[1])));
    }
    for with_inputs in [true, false] {
        let mut succ = vec![Vec::new(); m];
        let mut indeg = vec![0usize; m];
        for &(a, b) in arcs.iter().chain(if with_inputs { in_arcs.as_slice() } else { &[] }) {
            succ[a].push(b);
            indeg[b] += 1;
        }
        let mut ready: BinaryHeap<Reverse<usize>> = (0..m).filter(|&e| indeg[e] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(m);
        while let Some(Reverse(e)) = ready.pop() {
            order.push(e);
            for &f in &succ[e] {
                indeg[f] -= 1;
                if indeg[f] == 0 {
                    ready.push(Reverse(f));
                }
            }
        }
        if order.len() == m {
            return order;
        }
    }
    unreachable!("the search's arcs only order edges of one source, children first, so they have no cycle")
}

fn scc_ids(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut g = petgraph::graph::DiGraph::<(), ()>::with_capacity(n, edges.len());
    for _ in 0..n {
        g.add_node(());
    }
    for &(s, d) in edges {
        g.add_edge(petgraph::graph::NodeIndex::new(s), petgraph::graph::NodeIndex::new(d), ());
    }
    let mut id = vec![0; n];
    for (i, comp) in petgraph::algo::tarjan_scc(&g).into_iter().enumerate() {
        for v in comp {
            id[v.index()] = i;
        }
    }
    id
}

/// Topological order of the graph without the recurrent edges, earliest statement first.
fn topo_without(n: usize, edges: &[(usize, usize)], skip: &[bool]) -> Option<Vec<usize>> {
    let mut indeg = vec![0usize; n];
    let mut outs = vec![Vec::new(); n];
    for (e, &(s, d)) in edges.iter().enumerate() {
        if !skip[e] {
            indeg[d] += 1;
            outs[s].push(d);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&v| indeg[v] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &d in &outs[v] {
            indeg[d] -= 1;
            if indeg[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// Rebuilds a depth-first search whose finishing order is the reverse of `sigma` (roots
/// aside: they are searched in statement order and finish when they run out of edges).
struct Recon<'a> {
    outs: &'a [Vec<usize>],
    root: &'a [bool],
    /// Position of each non-root in the expected finishing order.
    pos: Vec<usize>,
    finish: Vec<usize>,
    white: Vec<bool>,
    /// Next expected finisher.
    k: usize,
    /// Search children of each node, in visit order.
    tree: Vec<Vec<usize>>,
    /// Per node: targets first reached inside the search of its child number `k`.
    after: Vec<Vec<(usize, usize)>>,
    budget: usize,
}

/// The search gave up (budget or depth).
struct GiveUp;

impl<'a> Recon<'a> {
    fn run(sigma: &[usize], root: &'a [bool], outs: &'a [Vec<usize>]) -> Option<Recon<'a>> {
        let n = outs.len();
        let finish: Vec<usize> = sigma.iter().rev().copied().filter(|&v| !root[v]).collect();
        let mut pos = vec![usize::MAX; n];
        for (i, &v) in finish.iter().enumerate() {
            pos[v] = i;
        }
        let (white, tree, after) = (vec![true; n], vec![Vec::new(); n], vec![Vec::new(); n]);
        let mut r = Recon { outs, root, pos, finish, white, k: 0, tree, after, budget: BUDGET };
        for v in (0..n).filter(|&v| root[v]) {
            if r.white[v] && !matches!(r.visit(v, 0), Ok(true)) {
                return None;
            }
        }
        (r.white.iter().all(|w| !w) && r.k == r.finish.len()).then_some(r)
    }

    fn visit(&mut self, n: usize, depth: usize) -> Result<bool, GiveUp> {
        if depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        self.white[n] = false;
        let mut children = Vec::new();
        let mut after = Vec::new();
        loop {
            let whites: Vec<usize> = self.outs[n].iter().copied().filter(|&c| self.white[c]).collect();
            self.spend(self.outs[n].len())?;
            if self.root[n] {
                if whites.is_empty() {
                    break;
                }
            } else if self.finish.get(self.k) == Some(&n) {
                if !whites.is_empty() {
                    return Ok(false);
                }
                break;
            }
            // Candidates in statement order, so the search deviates from it only when it must.
            let mut found = false;
            for &c in &whites {
                if self.pos[c] < self.k || !self.closes_prefix(c)? {
                    continue;
                }
                let saved = (self.white.clone(), self.k);
                if self.visit(c, depth + 1)? {
                    let k = children.len();
                    children.push(c);
                    after.extend(whites.iter().filter(|&&w| w != c && !self.white[w]).map(|&w| (w, k)));
                    found = true;
                    break;
                }
                (self.white, self.k) = saved;
            }
            if !found {
                return Ok(false);
            }
        }
        if !self.root[n] {
            self.k += 1;
        }
        self.tree[n] = children;
        self.after[n] = after;
        Ok(true)
    }

    /// Whether the unvisited nodes reachable from `c` are exactly the next expected
    /// finishers up to and including `c` (a necessary condition for visiting `c` next).
    fn closes_prefix(&mut self, c: usize) -> Result<bool, GiveUp> {
        let (lo, hi) = (self.k, self.pos[c]);
        let mut seen = vec![c];
        let mut stack = vec![c];
        let mut mark = std::collections::HashSet::from([c]);
        while let Some(v) = stack.pop() {
            self.spend(1 + self.outs[v].len())?;
            for &w in &self.outs[v] {
                if self.white[w] && mark.insert(w) {
                    if self.root[w] || self.pos[w] < lo || self.pos[w] > hi {
                        return Ok(false);
                    }
                    seen.push(w);
                    stack.push(w);
                }
            }
        }
        Ok(seen.len() == hi - lo + 1)
    }

    fn spend(&mut self, work: usize) -> Result<(), GiveUp> {
        self.budget = self.budget.checked_sub(work).ok_or(GiveUp)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IR's rule, on statement indices: search from the inputs in order, out-edges in
    /// creation order; returns the back edges.
    fn back_edges(n: usize, is_input: &[bool], edges: &[(usize, usize)], order: &[usize]) -> Vec<(usize, usize)> {
        let mut g = crate::ir::Graph::new();
        let ids: Vec<_> = (0..n)
            .map(|i| {
                let op = if is_input[i] {
                    crate::ir::Op::Input { shape: vec![1].into() }
                } else {
                    crate::ir::Op::Output { shape: vec![1].into() }
                };
                g.add_node(format!("n{i}"), op).unwrap()
            })
            .collect();
        for &e in order {
            g.add_edge(ids[edges[e].0], ids[edges[e].1]).unwrap();
        }
        let s = g.schedule().unwrap();
        let mut b: Vec<_> = edges.iter().copied().filter(|&(x, y)| s.is_back_edge(ids[x], ids[y])).collect();
        b.sort();
        b
    }

    fn intended(p: &Plan, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut b: Vec<_> = edges.iter().zip(&p.recurrent).filter(|(_, &r)| r).map(|(&e, _)| e).collect();
        b.sort();
        b
    }

    #[test]
    fn cycle_entered_twice_keeps_the_written_back_edge() {
        // 0 = input; 1(0, 2); 2(0, 1): the edge 2 → 1 is the forward reference.
        let edges = [(0, 1), (2, 1), (0, 2), (1, 2)];
        let inp = [true, false, false];
        let p = plan(3, &inp, &edges);
        assert_eq!(intended(&p, &edges), vec![(2, 1)]);
        assert_eq!(back_edges(3, &inp, &edges, &p.order), vec![(2, 1)]);
        // Statement order alone would search 0 → 1 first too; the reverse case needs the plan:
        // 0; 1(0); 2(0, 3); 3(1, 2): the search must enter the cycle {2, 3} at 2 although 1 → 3.
        let edges = [(0, 1), (0, 2), (3, 2), (1, 3), (2, 3)];
        let inp = [true, false, false, false];
        let p = plan(4, &inp, &edges);
        assert_eq!(intended(&p, &edges), vec![(3, 2)]);
        assert_eq!(back_edges(4, &inp, &edges, &p.order), vec![(3, 2)]);
    }

    #[test]
    fn random_graphs_in_search_order_are_reproduced() {
        // Graphs whose statement order comes from the IR's own search (as the printer
        // writes them) must get the same back edges back.
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut rnd = |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        let mut cyclic = 0;
        for _ in 0..8000 {
            let n = 4 + rnd(7);
            let ni = 1 + rnd(2);
            let mut edges: Vec<(usize, usize)> = Vec::new();
            for _ in 0..1 + rnd(16) {
                let e = (rnd(n), ni + rnd(n - ni));
                if !edges.contains(&e) {
                    edges.push(e);
                }
            }
            let inp: Vec<bool> = (0..n).map(|i| i < ni).collect();
            let mut g = crate::ir::Graph::new();
            let ids: Vec<_> = (0..n)
                .map(|i| {
                    g.add_node(
                        format!("n{i}"),
                        if inp[i] {
                            crate::ir::Op::Input { shape: vec![1].into() }
                        } else {
                            crate::ir::Op::Output { shape: vec![1].into() }
                        },
                    )
                    .unwrap()
                })
                .collect();
            for &(a, b) in &edges {
                g.add_edge(ids[a], ids[b]).unwrap();
            }
            let Ok(s) = g.schedule() else { continue };
            // Statement order: inputs, then the schedule; renumber.
            let order: Vec<usize> = (0..ni).chain(s.order.iter().map(|id| id.index()).filter(|&i| i >= ni)).collect();
            let mut at = vec![0; n];
            for (p, &v) in order.iter().enumerate() {
                at[v] = p;
            }
            let mut re: Vec<(usize, usize)> = edges.iter().map(|&(a, b)| (at[a], at[b])).collect();
            // Arguments in creation order, as the printer lists them.
            re.sort_by_key(|&(_, b)| b);
            let mut want: Vec<(usize, usize)> =
                edges.iter().filter(|&&(a, b)| s.is_back_edge(ids[a], ids[b])).map(|&(a, b)| (at[a], at[b])).collect();
            want.sort();
            let p = plan(n, &inp, &re);
            assert_eq!(intended(&p, &re), want, "text marks the IR's back edges");
            assert_eq!(back_edges(n, &inp, &re, &p.order), want, "edges {edges:?}");
            let mut rank = vec![0; re.len()];
            for (r, &e) in p.order.iter().enumerate() {
                rank[e] = r;
            }
            let args_kept = (1..re.len()).all(|e| re[e - 1].1 != re[e].1 || rank[e - 1] < rank[e]);
            assert!(args_kept, "arguments out of order: edges {edges:?}, plan {:?}", p.order);
            cyclic += usize::from(!want.is_empty());
        }
        assert!(cyclic > 500, "only {cyclic} graphs with cycles");
    }
}
