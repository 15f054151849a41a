//! Slots for the connections of one loop, and the ids that name them.
//!
//! A connection lives in a slot of a `Vec`; its slot number is also its mio `Token`, so a
//! readiness event finds it with one index. A freed slot is reused by the next connection, so
//! each slot also counts its occupants (the *generation*): a [`ConnId`] kept after its
//! connection went — in a subscriber list, a timer, a message from another thread — names a
//! generation that no longer matches and reaches nobody.

/// Names one connection of one loop: its slab slot plus the generation of the occupant, so a
/// message or timer for a connection that has gone never reaches the next occupant of the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    /// The slab slot (also the mio `Token`).
    pub slot: u32,
    /// Which occupant of the slot.
    pub generation: u32,
}

/// The slots of one loop. `T` is what a loop keeps per connection.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Option<T>>,
    /// The generation of each slot's current (or next) occupant.
    generations: Vec<u32>,
    /// Vacant slots, reused last-freed first.
    free: Vec<usize>,
    /// Occupied slots.
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), generations: Vec::new(), free: Vec::new(), live: 0 }
    }
}

impl<T> Slab<T> {
    /// How many slots are occupied.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// How many slots exist, occupied or not (slot numbers are below it).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The id of the current (or next) occupant of `slot`.
    pub(crate) fn id_of(&self, slot: usize) -> ConnId {
        ConnId { slot: slot as u32, generation: self.generations[slot] }
    }

    /// Picks a vacant slot for a new connection and returns the id it will have; the caller
    /// then [`fill`](Slab::fill)s it, or gives it back with [`unreserve`](Slab::unreserve).
    pub(crate) fn reserve(&mut self) -> ConnId {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.generations.push(0);
                self.slots.len() - 1
            }
        };
        self.id_of(slot)
    }

    /// Gives back a reserved slot that was not filled (registering its socket failed).
    pub(crate) fn unreserve(&mut self, id: ConnId) {
        self.free.push(id.slot as usize);
    }

    /// Gives back a reserved slot whose id was handed out (an outbound connect that failed):
    /// the slot moves to its next generation, so the id reaches nobody after.
    pub(crate) fn retire_reserved(&mut self, id: ConnId) {
        let slot = id.slot as usize;
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.free.push(slot);
    }

    /// Puts a new connection in the slot reserved for it.
    pub(crate) fn fill(&mut self, id: ConnId, value: T) {
        self.slots[id.slot as usize] = Some(value);
        self.live += 1;
    }

    /// The occupant of `slot`, whichever generation it is (a readiness event's token).
    pub(crate) fn at(&self, slot: usize) -> Option<&T> {
        self.slots.get(slot)?.as_ref()
    }

    /// The occupant of `slot`, mutably.
    pub(crate) fn at_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Connection `id`, if it is still the occupant of its slot.
    pub(crate) fn get(&self, id: ConnId) -> Option<&T> {
        let slot = id.slot as usize;
        if self.generations.get(slot) != Some(&id.generation) {
            return None;
        }
        self.slots[slot].as_ref()
    }

    /// Connection `id`, mutably, if it is still the occupant of its slot.
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut T> {
        let slot = id.slot as usize;
        if self.generations.get(slot) != Some(&id.generation) {
            return None;
        }
        self.slots[slot].as_mut()
    }

    /// Every occupied slot with its id, in slot order (the test loop's deadline search).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ConnId, &T)> {
        (self.slots.iter().enumerate()).filter_map(|(slot, value)| Some((self.id_of(slot), value.as_ref()?)))
    }

    /// Empties `slot` and moves it to its next generation, so ids of the old occupant go stale.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<T> {
        let value = self.slots.get_mut(slot)?.take()?;
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_has_a_new_generation_and_the_old_id_reaches_nobody() {
        let mut slab = Slab::default();
        let first = slab.reserve();
        slab.fill(first, "first");
        assert_eq!(slab.remove(first.slot as usize), Some("first"));
        let second = slab.reserve();
        slab.fill(second, "second");
        assert_eq!(second.slot, first.slot, "the freed slot is reused");
        assert_ne!(second.generation, first.generation);
        assert_eq!(slab.get(first), None, "the old id is stale");
        assert_eq!(slab.get(second), Some(&"second"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn a_reserved_slot_is_empty_until_filled_and_can_be_given_back() {
        let mut slab: Slab<u8> = Slab::default();
        let id = slab.reserve();
        assert_eq!(slab.get(id), None);
        slab.unreserve(id);
        assert_eq!(slab.reserve(), id, "the same slot, the same generation: nobody held it");
        assert_eq!(slab.len(), 0);
    }
}
