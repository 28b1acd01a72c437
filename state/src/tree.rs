//! The pure trie: computes new roots and node batches from changes, and
//! proofs, reading nodes through [`TreeReader`] and writing nothing.

use crate::error::StateError;
use crate::hash::{EMPTY_HASH, Hash, StateRoot, bit, nibble};
use crate::node::{Child, InternalNode, LeafNode, NibblePath, Node, NodeKey, RangeShape};
use crate::proof::{Coverage, Proof, Witness, WitnessNode, hash_node, witness_sides};
use std::collections::BTreeMap;

/// Read access to stored nodes.
pub trait TreeReader {
    /// The node stored under `key`, if any.
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError>;

    /// An internal node the reader holds already verified (or wrote itself),
    /// with its hash: skips the read and the hash check.
    fn cached_internal(&self, _key: &NodeKey) -> Option<(Hash, InternalNode)> {
        None
    }

    /// Told about each internal node that passed the hash check while
    /// reading version `version`.
    fn internal_verified(&self, _version: u64, _key: &NodeKey, _hash: &Hash, _node: &InternalNode) {
    }
}

impl<T: TreeReader + ?Sized> TreeReader for &T {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        (**self).node(key)
    }
    fn cached_internal(&self, key: &NodeKey) -> Option<(Hash, InternalNode)> {
        (**self).cached_internal(key)
    }
    fn internal_verified(&self, version: u64, key: &NodeKey, hash: &Hash, node: &InternalNode) {
        (**self).internal_verified(version, key, hash, node);
    }
}

/// The nodes written by no one yet: a tree kept in memory (tests, tools).
impl TreeReader for BTreeMap<NodeKey, Node> {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        Ok(self.get(key).cloned())
    }
}

/// The root node of a version, as recorded by the store.
#[derive(Clone, Debug, PartialEq, Eq, parity_scale_codec::Encode, parity_scale_codec::Decode)]
pub struct RootRef {
    /// Where the root node is stored.
    pub key: NodeKey,
    /// Its hash, i.e. the state root.
    pub hash: Hash,
}

/// Node writes produced by one update, for a backend to persist atomically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeBatch {
    /// New nodes.
    pub nodes: BTreeMap<NodeKey, Node>,
    /// The hash of each new internal node (to cache it without rehashing).
    pub internal_hashes: Vec<(NodeKey, Hash)>,
    /// Nodes that the new version no longer uses (kept for older versions
    /// until pruned).
    pub stale: Vec<NodeKey>,
}

/// The result of [`apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The new root.
    pub root: StateRoot,
    /// The new root node (`None` for the empty state).
    pub root_node: Option<RootRef>,
    /// Nodes to write and nodes made stale.
    pub batch: NodeBatch,
}

/// A change to one key, by hashes: `None` deletes.
pub type HashedChange = (Hash, Option<Hash>);

/// Applies `changes` (sorted by key hash, no duplicates) to the trie whose
/// root is `base` (read at version `base_version`), writing new nodes as
/// `version`. Pure: reads nodes through `reader`, writes nothing.
pub fn apply(
    reader: &impl TreeReader,
    base: Option<&RootRef>,
    base_version: u64,
    version: u64,
    changes: &[HashedChange],
) -> Result<TreeUpdate, StateError> {
    debug_assert!(
        changes.windows(2).all(|w| w[0].0 < w[1].0),
        "changes must be sorted and unique"
    );
    let mut updater = Updater {
        loader: Loader {
            reader,
            version: base_version,
        },
        version,
        batch: NodeBatch::default(),
    };
    if changes.is_empty() {
        let root = StateRoot(base.map_or(EMPTY_HASH, |b| b.hash));
        return Ok(TreeUpdate {
            root,
            root_node: base.cloned(),
            batch: updater.batch,
        });
    }
    let existing = base.map(|b| (b.key.clone(), b.hash));
    let subtree = updater.update(existing, &NibblePath::root(), changes)?;
    let root_node = match subtree {
        Subtree::Empty => None,
        Subtree::Internal { key, hash } => Some(RootRef { key, hash }),
        leaf @ (Subtree::NewLeaf(_) | Subtree::StoredLeaf { .. }) => {
            let child = updater.place_leaf(leaf, &NibblePath::root())?;
            Some(RootRef {
                key: NodeKey::new(child.version, NibblePath::root()),
                hash: child.hash,
            })
        }
    };
    let root = StateRoot(root_node.as_ref().map_or(EMPTY_HASH, |r| r.hash));
    Ok(TreeUpdate {
        root,
        root_node,
        batch: updater.batch,
    })
}

/// Loads nodes and checks each against the hash its parent records, so a
/// corrupted store yields an error, never a wrong root.
struct Loader<'r, R: ?Sized> {
    reader: &'r R,
    version: u64,
}

impl<R: TreeReader + ?Sized> Loader<'_, R> {
    fn load(&self, key: &NodeKey, expected: &Hash) -> Result<Node, StateError> {
        if let Some((hash, node)) = self.reader.cached_internal(key)
            && hash == *expected
        {
            return Ok(Node::Internal(node));
        }
        let node = self
            .reader
            .node(key)
            .map_err(|e| match e {
                // The reader does not know which version is being read.
                StateError::CorruptNode { node, reason, .. } => StateError::CorruptNode {
                    node,
                    version: self.version,
                    reason,
                },
                other => other,
            })?
            .ok_or_else(|| StateError::MissingNode {
                node: Box::new(key.clone()),
                version: self.version,
            })?;
        let corrupt = |reason: &str| StateError::CorruptNode {
            node: Box::new(key.clone()),
            version: self.version,
            reason: reason.into(),
        };
        if node.hash() != *expected {
            return Err(corrupt("its hash differs from the one its parent records"));
        }
        if let Node::Leaf(leaf) = &node
            && !key.path.is_prefix_of(&leaf.key_hash)
        {
            return Err(corrupt("leaf stored off its key's path"));
        }
        if let Node::Internal(internal) = &node {
            self.reader
                .internal_verified(self.version, key, expected, internal);
        }
        Ok(node)
    }

    fn load_internal(&self, key: &NodeKey, expected: &Hash) -> Result<InternalNode, StateError> {
        match self.load(key, expected)? {
            Node::Internal(node) => Ok(node),
            Node::Leaf(_) => Err(StateError::CorruptNode {
                node: Box::new(key.clone()),
                version: self.version,
                reason: "a leaf where the parent records an internal node".into(),
            }),
        }
    }

    fn load_leaf(&self, key: &NodeKey, expected: &Hash) -> Result<LeafNode, StateError> {
        match self.load(key, expected)? {
            Node::Leaf(leaf) => Ok(leaf),
            Node::Internal(_) => Err(StateError::CorruptNode {
                node: Box::new(key.clone()),
                version: self.version,
                reason: "an internal node where the parent records a leaf".into(),
            }),
        }
    }
}

/// A subtree after an update, before its parent decides where it goes.
#[derive(Debug)]
enum Subtree {
    Empty,
    /// A leaf not yet written (its position is decided by the parent).
    NewLeaf(LeafNode),
    /// A leaf already stored at `key`.
    StoredLeaf {
        key: NodeKey,
        hash: Hash,
    },
    /// An internal node already stored (old or newly written).
    Internal {
        key: NodeKey,
        hash: Hash,
    },
}

impl Subtree {
    fn from_child(path: &NibblePath, child: Option<&Child>) -> Self {
        match child {
            None => Subtree::Empty,
            Some(c) => {
                let key = NodeKey::new(c.version, path.clone());
                if c.is_leaf {
                    Subtree::StoredLeaf { key, hash: c.hash }
                } else {
                    Subtree::Internal { key, hash: c.hash }
                }
            }
        }
    }

    fn stored(&self) -> Option<(NodeKey, Hash)> {
        match self {
            Subtree::StoredLeaf { key, hash } | Subtree::Internal { key, hash } => {
                Some((key.clone(), *hash))
            }
            Subtree::Empty | Subtree::NewLeaf(_) => None,
        }
    }

    fn same_as(&self, other: &Subtree) -> bool {
        match (self, other) {
            (Subtree::Empty, Subtree::Empty) => true,
            (Subtree::StoredLeaf { key: a, .. }, Subtree::StoredLeaf { key: b, .. })
            | (Subtree::Internal { key: a, .. }, Subtree::Internal { key: b, .. }) => a == b,
            _ => false,
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(self, Subtree::NewLeaf(_) | Subtree::StoredLeaf { .. })
    }
}

struct Updater<'r, R: ?Sized> {
    loader: Loader<'r, R>,
    version: u64,
    batch: NodeBatch,
}

impl<R: TreeReader + ?Sized> Updater<'_, R> {
    /// Applies non-empty `changes` to the subtree at `path` (stored at
    /// `existing`, if any).
    fn update(
        &mut self,
        existing: Option<(NodeKey, Hash)>,
        path: &NibblePath,
        changes: &[HashedChange],
    ) -> Result<Subtree, StateError> {
        let Some((key, hash)) = existing else {
            let leaves: Vec<LeafNode> = changes
                .iter()
                .filter_map(|(key_hash, value)| {
                    value.map(|value_hash| LeafNode {
                        key_hash: *key_hash,
                        value_hash,
                    })
                })
                .collect();
            return self.build(path, &leaves);
        };
        match self.loader.load(&key, &hash)? {
            Node::Leaf(leaf) => {
                let mut merged = Vec::with_capacity(changes.len() + 1);
                let mut leaf_pending = true;
                for (key_hash, value) in changes {
                    if leaf_pending && leaf.key_hash < *key_hash {
                        merged.push(leaf);
                        leaf_pending = false;
                    }
                    if leaf.key_hash == *key_hash {
                        leaf_pending = false;
                    }
                    if let Some(value_hash) = value {
                        merged.push(LeafNode {
                            key_hash: *key_hash,
                            value_hash: *value_hash,
                        });
                    }
                }
                if leaf_pending {
                    merged.push(leaf);
                }
                if merged.as_slice() == [leaf] {
                    return Ok(Subtree::StoredLeaf { key, hash });
                }
                self.batch.stale.push(key);
                self.build(path, &merged)
            }
            Node::Internal(node) => {
                let mut children: [Subtree; 16] = std::array::from_fn(|i| {
                    Subtree::from_child(&path.child(nibble_u8(i)), node.children[i].as_ref())
                });
                let mut changed = false;
                for (n, group) in group_by_nibble(changes, path.len()) {
                    let child_path = path.child(n);
                    let slot = &mut children[usize::from(n)];
                    let updated = self.update(slot.stored(), &child_path, group)?;
                    if !updated.same_as(slot) {
                        changed = true;
                        *slot = updated;
                    }
                }
                if !changed {
                    return Ok(Subtree::Internal { key, hash });
                }
                self.batch.stale.push(key);
                self.finish_internal(path, children)
            }
        }
    }

    /// A fresh subtree at `path` holding `leaves` (sorted by key hash).
    fn build(&mut self, path: &NibblePath, leaves: &[LeafNode]) -> Result<Subtree, StateError> {
        match leaves {
            [] => Ok(Subtree::Empty),
            [leaf] => Ok(Subtree::NewLeaf(*leaf)),
            _ => {
                let mut children: [Subtree; 16] = std::array::from_fn(|_| Subtree::Empty);
                let depth = path.len();
                let mut rest = leaves;
                while let Some(first) = rest.first() {
                    let n = nibble(&first.key_hash, depth);
                    let end = rest.partition_point(|l| nibble(&l.key_hash, depth) == n);
                    let (group, tail) = rest.split_at(end);
                    children[usize::from(n)] = self.build(&path.child(n), group)?;
                    rest = tail;
                }
                self.finish_internal(path, children)
            }
        }
    }

    /// Turns updated children into a subtree: nothing, a lone leaf moving up
    /// to the parent, or a new internal node written at `path`.
    fn finish_internal(
        &mut self,
        path: &NibblePath,
        children: [Subtree; 16],
    ) -> Result<Subtree, StateError> {
        let present: Vec<usize> = (0..16)
            .filter(|i| !matches!(children[*i], Subtree::Empty))
            .collect();
        if present.is_empty() {
            return Ok(Subtree::Empty);
        }
        if let [only] = present.as_slice()
            && children[*only].is_leaf()
        {
            return Ok(children.into_iter().nth(*only).unwrap_or(Subtree::Empty));
        }
        let mut node = InternalNode::default();
        for (i, child) in children.into_iter().enumerate() {
            node.children[i] = match child {
                Subtree::Empty => None,
                Subtree::Internal { key, hash } => Some(Child {
                    hash,
                    version: key.version,
                    is_leaf: false,
                }),
                leaf @ (Subtree::NewLeaf(_) | Subtree::StoredLeaf { .. }) => {
                    Some(self.place_leaf(leaf, &path.child(nibble_u8(i)))?)
                }
            };
        }
        let hash = node.hash();
        let key = NodeKey::new(self.version, path.clone());
        self.batch.internal_hashes.push((key.clone(), hash));
        self.batch.nodes.insert(key.clone(), Node::Internal(node));
        Ok(Subtree::Internal { key, hash })
    }

    /// Stores a leaf at `path`, moving it there if it is stored elsewhere.
    fn place_leaf(&mut self, leaf: Subtree, path: &NibblePath) -> Result<Child, StateError> {
        let leaf = match leaf {
            Subtree::StoredLeaf { key, hash } if key.path == *path => {
                return Ok(Child {
                    hash,
                    version: key.version,
                    is_leaf: true,
                });
            }
            Subtree::StoredLeaf { key, hash } => {
                let leaf = self.loader.load_leaf(&key, &hash)?;
                self.batch.stale.push(key);
                leaf
            }
            Subtree::NewLeaf(leaf) => leaf,
            Subtree::Empty | Subtree::Internal { .. } => {
                unreachable!("place_leaf is only called with leaves")
            }
        };
        let hash = leaf.hash();
        self.batch
            .nodes
            .insert(NodeKey::new(self.version, path.clone()), Node::Leaf(leaf));
        Ok(Child {
            hash,
            version: self.version,
            is_leaf: true,
        })
    }
}

fn nibble_u8(i: usize) -> u8 {
    // Slots are 0..16.
    u8::try_from(i).unwrap_or(0)
}

/// Splits sorted changes into runs sharing nibble `depth`.
fn group_by_nibble(changes: &[HashedChange], depth: usize) -> Vec<(u8, &[HashedChange])> {
    let mut groups = Vec::new();
    let mut rest = changes;
    while let Some((first, _)) = rest.first() {
        let n = nibble(first, depth);
        let end = rest.partition_point(|(k, _)| nibble(k, depth) == n);
        let (group, tail) = rest.split_at(end);
        groups.push((n, group));
        rest = tail;
    }
    groups
}

/// The proof for `key_hash` in the trie rooted at `root` (version `version`).
pub fn prove(
    reader: &impl TreeReader,
    root: Option<&RootRef>,
    version: u64,
    key_hash: &Hash,
) -> Result<Proof, StateError> {
    let loader = Loader { reader, version };
    let mut siblings = Vec::new();
    let Some(root) = root else {
        return Ok(Proof {
            leaf: None,
            siblings,
        });
    };
    let mut key = root.key.clone();
    let mut node = match loader.load(&key, &root.hash)? {
        Node::Leaf(leaf) => {
            return Ok(Proof {
                leaf: Some(leaf),
                siblings,
            });
        }
        Node::Internal(node) => node,
    };
    loop {
        let depth = key.path.len();
        let n = nibble(key_hash, depth);
        let (mut start, mut width) = (0u8, 16u8);
        let next = loop {
            let half = width / 2;
            let (own, other) = if n < start + half {
                (start, start + half)
            } else {
                (start + half, start)
            };
            siblings.push(node.range_hash(other, half));
            start = own;
            width = half;
            match node.range_shape(start, width) {
                RangeShape::Empty => {
                    return Ok(Proof {
                        leaf: None,
                        siblings,
                    });
                }
                RangeShape::LoneLeaf(i) => {
                    let child = node.children[usize::from(i)]
                        .unwrap_or_else(|| unreachable!("shape saw a child"));
                    let leaf_key = NodeKey::new(child.version, key.path.child(i));
                    let leaf = loader.load_leaf(&leaf_key, &child.hash)?;
                    return Ok(Proof {
                        leaf: Some(leaf),
                        siblings,
                    });
                }
                RangeShape::LoneInternal(i) => break i,
                RangeShape::Branch => {}
            }
        };
        let child =
            node.children[usize::from(next)].unwrap_or_else(|| unreachable!("shape saw a child"));
        key = NodeKey::new(child.version, key.path.child(next));
        node = loader.load_internal(&key, &child.hash)?;
    }
}

/// The witness for `key_hashes` (sorted, unique) in the trie rooted at
/// `root` (`specs/state.md` 5.2).
pub fn witness(
    reader: &impl TreeReader,
    root: Option<&RootRef>,
    version: u64,
    key_hashes: &[Hash],
) -> Result<Witness, StateError> {
    let loader = Loader { reader, version };
    let mut nodes = Vec::new();
    match root {
        None => nodes.push(WitnessNode::Empty),
        Some(root) => {
            witness_stored(
                &loader, &root.key, &root.hash, None, 0, key_hashes, &mut nodes,
            )?;
        }
    }
    Ok(Witness { nodes })
}

/// Emits the witness of the stored node at `key` (a leaf if `is_leaf` says
/// so; unknown at the root).
fn witness_stored<R: TreeReader + ?Sized>(
    loader: &Loader<'_, R>,
    key: &NodeKey,
    hash: &Hash,
    is_leaf: Option<bool>,
    depth: usize,
    targets: &[Hash],
    out: &mut Vec<WitnessNode>,
) -> Result<Coverage, StateError> {
    if targets.is_empty() {
        out.push(WitnessNode::Hash(*hash));
        return Ok(Coverage::Partial);
    }
    let node = match is_leaf {
        Some(true) => Node::Leaf(loader.load_leaf(key, hash)?),
        Some(false) => Node::Internal(loader.load_internal(key, hash)?),
        None => loader.load(key, hash)?,
    };
    match node {
        Node::Leaf(leaf) => {
            out.push(WitnessNode::Leaf(leaf));
            Ok(Coverage::of_leaf(&leaf.key_hash, targets))
        }
        Node::Internal(node) => witness_range(loader, key, &node, 0, 16, depth, targets, out),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a recursive walk carrying its position; a struct would only rename them"
)]
fn witness_range<R: TreeReader + ?Sized>(
    loader: &Loader<'_, R>,
    key: &NodeKey,
    node: &InternalNode,
    start: u8,
    width: u8,
    depth: usize,
    targets: &[Hash],
    out: &mut Vec<WitnessNode>,
) -> Result<Coverage, StateError> {
    match node.range_shape(start, width) {
        RangeShape::Empty => {
            out.push(WitnessNode::Empty);
            Ok(Coverage::Empty)
        }
        RangeShape::LoneLeaf(i) | RangeShape::LoneInternal(i) if width < 16 => {
            let child =
                node.children[usize::from(i)].unwrap_or_else(|| unreachable!("shape saw a child"));
            let child_key = NodeKey::new(child.version, key.path.child(i));
            witness_stored(
                loader,
                &child_key,
                &child.hash,
                Some(child.is_leaf),
                depth,
                targets,
                out,
            )
        }
        _ if targets.is_empty() => {
            out.push(WitnessNode::Hash(node.range_hash(start, width)));
            Ok(Coverage::Partial)
        }
        _ => {
            out.push(WitnessNode::Branch);
            let half = width / 2;
            let split = targets.partition_point(|t| bit(t, depth) == 0);
            let sides = [&targets[..split], &targets[split..]];
            let starts = [start, start + half];
            witness_sides(
                out,
                [!sides[0].is_empty(), !sides[1].is_empty()],
                &mut |side, out| {
                    witness_range(
                        loader,
                        key,
                        node,
                        starts[side],
                        half,
                        depth + 1,
                        sides[side],
                        out,
                    )
                },
                &mut |side, out| open_range(loader, key, node, starts[side], half, out),
            )
        }
    }
}

/// Emits the slot range `start..start + width` of `node` opened one level:
/// a lone leaf as the leaf, an internal binary node as `0x03` and its two
/// sides as hashes.
fn open_range<R: TreeReader + ?Sized>(
    loader: &Loader<'_, R>,
    key: &NodeKey,
    node: &InternalNode,
    start: u8,
    width: u8,
    out: &mut Vec<WitnessNode>,
) -> Result<Coverage, StateError> {
    let (inner, start, width) = match node.range_shape(start, width) {
        RangeShape::Empty => {
            out.push(WitnessNode::Empty);
            return Ok(Coverage::Empty);
        }
        RangeShape::LoneLeaf(i) => {
            let child =
                node.children[usize::from(i)].unwrap_or_else(|| unreachable!("shape saw a child"));
            let leaf =
                loader.load_leaf(&NodeKey::new(child.version, key.path.child(i)), &child.hash)?;
            out.push(WitnessNode::Leaf(leaf));
            return Ok(Coverage::Partial);
        }
        RangeShape::LoneInternal(i) => {
            let child =
                node.children[usize::from(i)].unwrap_or_else(|| unreachable!("shape saw a child"));
            let inner = loader
                .load_internal(&NodeKey::new(child.version, key.path.child(i)), &child.hash)?;
            (std::borrow::Cow::Owned(inner), 0, 16)
        }
        RangeShape::Branch => (std::borrow::Cow::Borrowed(node), start, width),
    };
    let half = width / 2;
    out.push(WitnessNode::Branch);
    out.push(hash_node(inner.range_hash(start, half)));
    out.push(hash_node(inner.range_hash(start + half, half)));
    Ok(Coverage::Partial)
}
