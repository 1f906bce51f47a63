//! Large lists of entities as a streamed JSON body. A full list of a 100,000-entity catalog is
//! some 200 MB of JSON: built in memory it doubled the server's peak memory, and serialized on
//! an async worker it held that worker for seconds. Pages larger than [`STREAM_OVER`] entities
//! are serialized on a blocking thread, a few hundred entities at a time (the read model's lock
//! held only while a batch is rendered), and sent as they are ready; the client reading slowly
//! slows the writer, and a client that goes away stops it.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use portico_graph::{Id, Visibility, Visible};
use portico_graph::eval::SharedGraph;

use crate::render::{EntityView, Fields, Rendered};

/// Pages of more entities than this are streamed.
pub(crate) const STREAM_OVER: usize = 1000;
/// Entities rendered per hold of the read lock.
const BATCH: usize = 256;
/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 256 * 1024;

/// `prefix`, the entities `ids` (as JSON objects, projected to `fields`) separated by commas,
/// then `suffix`: streamed from a blocking thread. Entities removed meanwhile are skipped.
pub(crate) fn entities(graph: SharedGraph, vis: Visibility, ids: Vec<Id>, fields: Option<Fields>, prefix: Vec<u8>, suffix: Vec<u8>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = prefix;
        let mut first = true;
        for batch in ids.chunks(BATCH) {
            {
                let g = graph.read();
                let g = Visible::new(&g, &vis);
                for id in batch {
                    let Some(entry) = g.entry(*id) else { continue };
                    if !first {
                        buf.push(b',');
                    }
                    first = false;
                    let view = EntityView::of(&g, entry);
                    if let Err(e) = serde_json::to_writer(&mut buf, &Rendered::of(&view, fields.as_ref())) {
                        let _ = tx.blocking_send(Err(io::Error::other(e)));
                        return;
                    }
                }
            }
            if buf.len() >= CHUNK && tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut buf)))).is_err() {
                // The client went away.
                return;
            }
        }
        buf.extend_from_slice(&suffix);
        let _ = tx.blocking_send(Ok(Bytes::from(buf)));
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], Body::from_stream(stream)).into_response()
}
