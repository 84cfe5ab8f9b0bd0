//! What a `Crm` keeps in memory per business (trained assistant knowledge,
//! recommendation models), bounded: when a new business's entry would pass
//! the bound, the least recently used one goes and is loaded from storage
//! again when next needed. A server hosting many shops so keeps the active
//! ones' models and a bounded footprint.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::BusinessId;

/// Businesses whose models a `Crm` keeps by default.
pub const CACHED_BUSINESSES: usize = 1024;

/// A per-business cache that holds at most its capacity.
#[derive(Debug)]
pub struct BusinessCache<V> {
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    capacity: usize,
    /// Bumped at each use; an entry's stamp says when it was last used.
    clock: u64,
    entries: HashMap<BusinessId, (u64, V)>,
}

impl<V: Clone> BusinessCache<V> {
    /// A cache of at most `capacity` businesses (at least one).
    pub fn new(capacity: usize) -> Self {
        let inner = Inner { capacity: capacity.max(1), clock: 0, entries: HashMap::new() };
        Self { inner: Mutex::new(inner) }
    }

    /// The business's entry, now the most recently used.
    pub fn get(&self, business: BusinessId) -> Option<V> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        inner.entries.get_mut(&business).map(|(used, v)| {
            *used = now;
            v.clone()
        })
    }

    /// Keeps `value` for the business, in place of the least recently used
    /// business's entry when full.
    pub fn insert(&self, business: BusinessId, value: V) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if !inner.entries.contains_key(&business) && inner.entries.len() >= inner.capacity {
            // A scan, not a linked list: it runs only when a model is loaded,
            // which costs far more.
            let oldest = inner.entries.iter().min_by_key(|(_, (used, _))| *used).map(|(b, _)| *b);
            if let Some(b) = oldest {
                inner.entries.remove(&b);
            }
        }
        inner.entries.insert(business, (now, value));
    }

    /// How many businesses it holds now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<V: Clone> Default for BusinessCache<V> {
    fn default() -> Self {
        Self::new(CACHED_BUSINESSES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_business_goes_first() {
        let cache = BusinessCache::new(2);
        let (a, b, c) = (BusinessId::new(), BusinessId::new(), BusinessId::new());
        cache.insert(a, 1);
        cache.insert(b, 2);
        assert_eq!(cache.get(a), Some(1), "a is now the more recent");
        cache.insert(c, 3);
        assert_eq!((cache.get(a), cache.get(b), cache.get(c)), (Some(1), None, Some(3)));
        // Replacing an entry evicts nothing.
        cache.insert(c, 4);
        assert_eq!((cache.len(), cache.get(a), cache.get(c)), (2, Some(1), Some(4)));
        // A capacity of zero still holds the one in use.
        let tiny = BusinessCache::new(0);
        tiny.insert(a, 1);
        tiny.insert(b, 2);
        assert_eq!((tiny.len(), tiny.get(a), tiny.get(b)), (1, None, Some(2)));
    }
}
