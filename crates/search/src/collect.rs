//! A collector that keeps every match as `(score, id, kind)`, read from fast fields: a query
//! needs both the best few (to show) and the count per kind of all of them (the facets), and
//! one pass gives both.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// One match: score, the read model's id, the kind's ordinal.
pub(crate) type Match = (Score, u32, u32);

pub(crate) struct AllMatches {
    pub scored: bool,
}

pub(crate) struct SegmentMatches {
    ids: Column<u64>,
    kinds: Column<u64>,
    out: Vec<Match>,
}

impl Collector for AllMatches {
    type Fruit = Vec<Match>;
    type Child = SegmentMatches;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentMatches> {
        let fast = segment.fast_fields();
        Ok(SegmentMatches { ids: fast.u64("id")?, kinds: fast.u64("kind")?, out: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Match>>) -> tantivy::Result<Vec<Match>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<Match>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let id = self.ids.first(doc).unwrap_or_default() as u32;
        let kind = self.kinds.first(doc).unwrap_or_default() as u32;
        self.out.push((score, id, kind));
    }

    fn harvest(self) -> Vec<Match> {
        self.out
    }
}
