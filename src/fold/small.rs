//! The store behind an organisation's small maps ([`super::Small`]): a
//! sorted vector behind a single pointer.
//!
//! An organisation holds seven such maps and most are empty. A `Vec` takes
//! 24 bytes in the organisation even when empty; a [`ThinVec`] takes 8 and
//! keeps its length and capacity in its heap block, which an empty one does
//! not have. Growth is exact while a map is short (a `Vec` reserves four
//! entries for its first), then by half.

use std::borrow::Borrow;
use std::cmp::Ordering;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use litemap::store::{
    Store, StoreBulkMut, StoreConstEmpty, StoreFromIterable, StoreFromIterator, StoreIntoIterator,
    StoreIterable, StoreIterableMut, StoreMut,
};
use thin_vec::ThinVec;

/// A [`litemap::LiteMap`] store: the entries, sorted by key, in a
/// [`ThinVec`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thin<K, V>(ThinVec<(K, V)>);

impl<K, V> Default for Thin<K, V> {
    fn default() -> Self {
        Thin(ThinVec::new())
    }
}

impl<K, V> Thin<K, V> {
    /// Makes room for one more entry.
    fn grow(&mut self) {
        grow(&mut self.0);
    }
}

/// Makes room in `v` for one more item: exactly while short, then by half
/// (how an organisation's maps, sets and thin lists grow).
pub(super) fn grow<T>(v: &mut ThinVec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 2 + 1);
    }
}

impl<K, V> StoreConstEmpty<K, V> for Thin<K, V> {
    const EMPTY: Thin<K, V> = Thin(ThinVec::new());
}

impl<K, V> Store<K, V> for Thin<K, V> {
    fn lm_len(&self) -> usize {
        self.0.len()
    }

    fn lm_is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn lm_get(&self, index: usize) -> Option<(&K, &V)> {
        self.0.get(index).map(|(k, v)| (k, v))
    }

    fn lm_last(&self) -> Option<(&K, &V)> {
        self.0.last().map(|(k, v)| (k, v))
    }

    fn lm_binary_search_by<F>(&self, mut cmp: F) -> Result<usize, usize>
    where
        F: FnMut(&K) -> Ordering,
    {
        self.0.binary_search_by(|(k, _)| cmp(k))
    }
}

impl<K, V> StoreMut<K, V> for Thin<K, V> {
    fn lm_with_capacity(capacity: usize) -> Self {
        Thin(ThinVec::with_capacity(capacity))
    }

    fn lm_reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    fn lm_get_mut(&mut self, index: usize) -> Option<(&K, &mut V)> {
        self.0.get_mut(index).map(|(k, v)| (&*k, v))
    }

    fn lm_push(&mut self, key: K, value: V) {
        self.grow();
        self.0.push((key, value));
    }

    fn lm_insert(&mut self, index: usize, key: K, value: V) {
        self.grow();
        self.0.insert(index, (key, value));
    }

    fn lm_remove(&mut self, index: usize) -> (K, V) {
        self.0.remove(index)
    }

    fn lm_clear(&mut self) {
        self.0.clear();
    }
}

impl<K: Ord, V> StoreBulkMut<K, V> for Thin<K, V> {
    fn lm_retain<F>(&mut self, mut predicate: F)
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.0.retain(|(k, v)| predicate(k, v));
    }

    /// Adds the entries; for a key given more than once, the last one
    /// wins (as `Vec`'s store does).
    fn lm_extend<I>(&mut self, iter: I)
    where
        I: IntoIterator<Item = (K, V)>,
    {
        for (k, v) in iter {
            match self.0.binary_search_by(|(key, _)| key.cmp(&k)) {
                Ok(i) => {
                    if let Some(slot) = self.0.get_mut(i) {
                        slot.1 = v;
                    }
                }
                Err(i) => {
                    self.grow();
                    self.0.insert(i, (k, v));
                }
            }
        }
    }
}

impl<K: Ord, V> StoreFromIterable<K, V> for Thin<K, V> {
    fn lm_sort_from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Thin::default();
        map.lm_extend(iter);
        map
    }
}

impl<'a, K: 'a, V: 'a> StoreIterable<'a, K, V> for Thin<K, V> {
    type KeyValueIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&(K, V)) -> (&K, &V)>;

    fn lm_iter(&'a self) -> Self::KeyValueIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K: 'a, V: 'a> StoreIterableMut<'a, K, V> for Thin<K, V> {
    type KeyValueIterMut =
        std::iter::Map<std::slice::IterMut<'a, (K, V)>, fn(&mut (K, V)) -> (&K, &mut V)>;

    fn lm_iter_mut(&'a mut self) -> Self::KeyValueIterMut {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }
}

impl<K, V> StoreIntoIterator<K, V> for Thin<K, V> {
    type KeyValueIntoIter = thin_vec::IntoIter<(K, V)>;

    fn lm_into_iter(self) -> Self::KeyValueIntoIter {
        self.0.into_iter()
    }

    fn lm_extend_end(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    fn lm_extend_start(&mut self, other: Self) {
        let mut joined = other.0;
        joined.extend(std::mem::take(&mut self.0));
        self.0 = joined;
    }
}

impl<K, V> FromIterator<(K, V)> for Thin<K, V> {
    /// The entries in the order given (the map sorts them: see
    /// [`StoreFromIterable`]).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Thin(iter.into_iter().collect())
    }
}

impl<K, V> StoreFromIterator<K, V> for Thin<K, V> {}

/// A sorted set of distinct keys behind one pointer, grown as [`Thin`]
/// grows: an organisation's programs, mostly none. Its JSON is a sorted
/// array, as a `BTreeSet`'s is; an array in another order or with a key
/// twice reads as the set of its keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmallSet<K>(ThinVec<K>);

impl<K> Default for SmallSet<K> {
    fn default() -> Self {
        SmallSet(ThinVec::new())
    }
}

impl<K: Ord> SmallSet<K> {
    /// An empty set.
    pub fn new() -> Self {
        SmallSet::default()
    }

    /// Adds `key`; false if it was there.
    pub fn insert(&mut self, key: K) -> bool {
        match self.0.binary_search(&key) {
            Ok(_) => false,
            Err(at) => {
                grow(&mut self.0);
                self.0.insert(at, key);
                true
            }
        }
    }

    /// Whether `key` is in the set.
    pub fn contains<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|k| k.borrow().cmp(key)).is_ok()
    }
}

impl<K> SmallSet<K> {
    /// The keys, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, K> {
        self.0.iter()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl<'a, K> IntoIterator for &'a SmallSet<K> {
    type Item = &'a K;
    type IntoIter = std::slice::Iter<'a, K>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<K: Serialize> Serialize for SmallSet<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>> Deserialize<'de> for SmallSet<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut keys = Vec::<K>::deserialize(d)?;
        keys.sort_unstable();
        keys.dedup();
        let mut set = ThinVec::with_capacity(keys.len());
        set.extend(keys);
        Ok(SmallSet(set))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Small;

    #[test]
    fn an_empty_map_takes_one_pointer() {
        assert_eq!(std::mem::size_of::<Small<u32, u64>>(), 8);
    }

    #[test]
    fn it_behaves_as_a_sorted_map() {
        let mut map: Small<u32, &str> = Small::new();
        assert!(map.is_empty());
        for (k, v) in [(5, "e"), (1, "a"), (3, "c"), (9, "i"), (7, "g")] {
            assert_eq!(map.insert(k, v), None);
        }
        assert_eq!(map.insert(3, "C"), Some("c"));
        assert_eq!(map.remove(&9), Some("i"));
        assert_eq!(map.get(&3), Some(&"C"));
        assert_eq!(map.get(&4), None);
        if let Some(v) = map.get_mut(&7) {
            *v = "G";
        }
        let listed: Vec<(u32, &str)> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(listed, [(1, "a"), (3, "C"), (5, "e"), (7, "G")]);
        assert_eq!(map.len(), 4);
        map.retain(|k, _| k % 5 != 0);
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), [1, 3, 7]);
    }

    #[test]
    fn collecting_sorts_and_the_last_of_a_key_wins() {
        let map: Small<u32, char> = [(2, 'b'), (1, 'a'), (2, 'B'), (0, 'z')]
            .into_iter()
            .collect();
        let listed: Vec<(u32, char)> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(listed, [(0, 'z'), (1, 'a'), (2, 'B')]);
    }

    #[test]
    fn growth_is_exact_while_short_then_by_half() {
        use litemap::store::StoreMut;
        let mut store = super::Thin::default();
        let mut capacities = Vec::new();
        for i in 0..8u32 {
            // Inserted at the front, as a key smaller than all.
            store.lm_insert(0, 8 - i, i);
            capacities.push(store.0.capacity());
        }
        assert_eq!(capacities, [1, 2, 4, 4, 7, 7, 7, 11]);
        let mut pushed = super::Thin::default();
        pushed.lm_push(1u32, 1u32);
        assert_eq!(pushed.0.capacity(), 1);
    }

    #[test]
    fn it_serialises_as_a_vec_store_does() {
        let small: Small<String, u32> = [("b".to_owned(), 2), ("a".to_owned(), 1)]
            .into_iter()
            .collect();
        let vec: litemap::LiteMap<String, u32> = [("b".to_owned(), 2), ("a".to_owned(), 1)]
            .into_iter()
            .collect();
        let json = serde_json::to_string(&small).expect("serialises");
        assert_eq!(json, serde_json::to_string(&vec).expect("serialises"));
        let back: Small<String, u32> = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, small);
    }

    #[test]
    fn a_set_keeps_its_keys_sorted_and_distinct_and_serialises_as_a_btree_set() {
        let mut set = super::SmallSet::new();
        assert_eq!(std::mem::size_of_val(&set), 8);
        for k in ["p3", "p1", "p2", "p1"] {
            set.insert(String::from(k));
        }
        assert!(!set.insert("p2".to_owned()));
        assert!(set.contains("p2") && !set.contains("p4"));
        assert_eq!(set.iter().collect::<Vec<_>>(), ["p1", "p2", "p3"]);
        assert_eq!(set.len(), 3);
        let tree: std::collections::BTreeSet<String> = set.iter().cloned().collect();
        let json = serde_json::to_string(&set).expect("serialises");
        assert_eq!(json, serde_json::to_string(&tree).expect("serialises"));
        let back: super::SmallSet<String> =
            serde_json::from_str(r#"["p3","p1","p3","p2"]"#).expect("deserialises");
        assert_eq!(back, set);
        set.clear();
        assert!(set.is_empty());
    }
}
