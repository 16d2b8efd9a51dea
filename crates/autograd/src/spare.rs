//! Containers handed from one training step to the next on the same thread.
//!
//! A training loop makes a tape and a `Gradients` each step, and each fills a few lists and maps
//! (its nodes, constants, parameter leaves, per-node gradient slots, the gradients by
//! parameter). Allocating them afresh each step, and growing them to the step's size, cost a
//! small model's step (W2) seven allocations and frees and the maps' rehashing, 1.8% of its
//! instructions. So a dropped tape or `Gradients` leaves its emptied containers in a slot of its
//! thread, and the next one takes them. The slots are type-erased, since a thread-local cannot
//! be generic over the element type; a tape of the other element type allocates its own.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::thread::LocalKey;

/// A thread's spare containers of one kind, in the box they travel in.
pub(crate) type Slot = RefCell<Option<Box<dyn Any>>>;

/// The most entries a kept list or map may have room for (a list of 4096 nodes is about a
/// megabyte); a larger one, from an unusually large graph, is freed rather than kept.
pub(crate) const MAX_KEPT: usize = 1 << 12;

/// The box in `slot` if it holds a `P`, else a new one with `P::default()`. The box is
/// returned whole, so that a caller can move the containers out and give the same box back
/// later: the box itself is not allocated again either.
pub(crate) fn take<P: Default + 'static>(slot: &'static LocalKey<Slot>) -> Box<P> {
    slot.try_with(|spare| spare.borrow_mut().take())
        .ok()
        .flatten()
        .and_then(|spare| spare.downcast::<P>().ok())
        .unwrap_or_default()
}

/// Leaves `spare` in `slot` for the next [`take`] on this thread.
pub(crate) fn give<P: 'static>(slot: &'static LocalKey<Slot>, spare: Box<P>) {
    // At thread exit the slot may be gone already; the containers are then simply freed. A
    // `give` from within a drop that runs while the slot is borrowed (none does) frees them too.
    let _ = slot.try_with(|cell| {
        if let Ok(mut cell) = cell.try_borrow_mut() {
            *cell = Some(spare);
        }
    });
}

/// `list`, emptied, if its room is at most [`MAX_KEPT`]; else an empty list with no room.
pub(crate) fn emptied<V>(mut list: Vec<V>) -> Vec<V> {
    if list.capacity() > MAX_KEPT {
        return Vec::new();
    }
    list.clear();
    list
}

/// `map`, emptied, if its room is at most [`MAX_KEPT`]; else an empty map with no room.
pub(crate) fn emptied_map<K, V, S: BuildHasher + Default>(
    mut map: HashMap<K, V, S>,
) -> HashMap<K, V, S> {
    if map.capacity() > MAX_KEPT {
        return HashMap::default();
    }
    map.clear();
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SLOT: Slot = const { RefCell::new(None) };
    }

    #[test]
    fn a_given_box_is_taken_back_with_its_room_and_a_box_of_another_type_is_not() {
        let mut list: Box<Vec<u32>> = take(&SLOT);
        assert_eq!(list.capacity(), 0, "an empty slot gives a new, empty list");
        list.extend(0..100);
        let room = list.capacity();
        let address = list.as_ptr();
        give(&SLOT, Box::new(emptied(std::mem::take(&mut *list))));
        let again: Box<Vec<u32>> = take(&SLOT);
        assert!(again.is_empty());
        assert_eq!((again.capacity(), again.as_ptr()), (room, address));
        give(&SLOT, again);
        let other: Box<Vec<u64>> = take(&SLOT);
        assert_eq!(other.capacity(), 0, "a list of another type is not reused");
        let gone: Box<Vec<u32>> = take(&SLOT);
        assert_eq!(gone.capacity(), 0, "and the slot was emptied by that take");
    }

    #[test]
    fn containers_past_the_bound_are_freed_not_kept() {
        let large: Vec<u8> = Vec::with_capacity(MAX_KEPT + 1);
        assert_eq!(emptied(large).capacity(), 0);
        let small: Vec<u8> = vec![1, 2, 3];
        let kept = emptied(small);
        assert!(kept.is_empty() && kept.capacity() >= 3);
        let mut map: HashMap<u32, u32> = HashMap::with_capacity(MAX_KEPT + 1);
        map.insert(1, 1);
        assert_eq!(emptied_map(map).capacity(), 0);
        let mut map: HashMap<u32, u32> = HashMap::new();
        map.insert(1, 1);
        let kept = emptied_map(map);
        assert!(kept.is_empty() && kept.capacity() >= 1);
    }
}
