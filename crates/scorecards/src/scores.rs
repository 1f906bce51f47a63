//! One scorecard's results, by entity id: a table in chunks shared copy-on-write, so bringing
//! it up to date after a change copies the few chunks the re-scored entities sit in, not the
//! whole table (readers keep the version they hold).

use std::sync::Arc;

use portico_graph::Id;

use crate::evaluate::Score;

/// Ids per chunk.
const CHUNK: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct Scores {
    chunks: Vec<Option<Arc<Vec<Option<Score>>>>>,
    len: usize,
}

impl Scores {
    /// How many entities have a result.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, id: &Id) -> Option<&Score> {
        let (c, i) = place(*id);
        self.chunks.get(c)?.as_ref()?.get(i)?.as_ref()
    }

    pub fn contains_key(&self, id: &Id) -> bool {
        self.get(id).is_some()
    }

    /// Sets (or, with `None`, removes) the result of `id`.
    pub fn set(&mut self, id: Id, score: Option<Score>) {
        let (c, i) = place(id);
        if self.chunks.len() <= c {
            if score.is_none() {
                return;
            }
            self.chunks.resize(c + 1, None);
        }
        let chunk = Arc::make_mut(self.chunks[c].get_or_insert_with(|| Arc::new(vec![None; CHUNK])));
        match (chunk[i].is_some(), score.is_some()) {
            (false, true) => self.len += 1,
            (true, false) => self.len -= 1,
            _ => {}
        }
        chunk[i] = score;
    }

    pub fn insert(&mut self, id: Id, score: Score) {
        self.set(id, Some(score));
    }

    pub fn remove(&mut self, id: &Id) {
        self.set(*id, None);
    }

    /// Every result, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &Score)> + '_ {
        self.chunks.iter().enumerate().filter_map(|(c, chunk)| Some((c, chunk.as_ref()?))).flat_map(|(c, chunk)| {
            chunk.iter().enumerate().filter_map(move |(i, s)| Some(((c * CHUNK + i) as Id, s.as_ref()?)))
        })
    }

    /// The ids with a result, ascending.
    pub fn keys(&self) -> impl Iterator<Item = Id> + '_ {
        self.iter().map(|(id, _)| id)
    }
}

fn place(id: Id) -> (usize, usize) {
    (id as usize / CHUNK, id as usize % CHUNK)
}

impl FromIterator<(Id, Score)> for Scores {
    fn from_iter<T: IntoIterator<Item = (Id, Score)>>(iter: T) -> Self {
        let mut out = Scores::default();
        for (id, s) in iter {
            out.insert(id, s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(reached: u8) -> Score {
        Score { passed: 0, errored: 0, reached, score: 0.0 }
    }

    #[test]
    fn a_copy_shares_the_chunks_it_does_not_change() {
        let mut a: Scores = [(3, s(1)), (5000, s(2))].into_iter().collect();
        assert_eq!((a.len(), a.get(&3).map(|x| x.reached), a.get(&4)), (2, Some(1), None));
        let b = a.clone();
        a.insert(3, s(3));
        a.remove(&5000);
        a.remove(&99_999);
        assert_eq!(a.keys().collect::<Vec<_>>(), [3]);
        assert_eq!(b.iter().map(|(id, s)| (id, s.reached)).collect::<Vec<_>>(), [(3, 1), (5000, 2)], "the copy is unchanged");
        assert!(Arc::ptr_eq(a.chunks[4].as_ref().unwrap(), b.chunks[4].as_ref().unwrap()) || a.chunks[4].as_ref().unwrap().iter().all(Option::is_none));
        assert!(!Arc::ptr_eq(a.chunks[0].as_ref().unwrap(), b.chunks[0].as_ref().unwrap()), "the changed chunk was copied");
    }
}
