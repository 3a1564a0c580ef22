//! Call records are written by one task, in batches: the records of calls that ended while
//! the previous batch was being written go into the database together, in one transaction,
//! so under load a call costs a share of a round trip to the database rather than one of
//! its own. A batch the database refuses is written again one record at a time, so one
//! bad record loses only itself.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::error;
use warden_storage::NewCallRecord;

use super::Calls;

/// Most records written in one transaction.
const MAX_BATCH: usize = 256;

/// The queue of records waiting for the writer task.
pub(super) struct RecordQueue {
    tx: mpsc::UnboundedSender<NewCallRecord>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<NewCallRecord>>>,
}

impl Default for RecordQueue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        RecordQueue {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Calls {
    /// Starts the writer task (once).
    pub(super) fn start_record_writer(self: &Arc<Self>) {
        if let Some(rx) = self.records.rx.lock().ok().and_then(|mut r| r.take()) {
            tokio::spawn(self.clone().write_records(rx));
        }
    }

    /// Hands a record (counted in `writing`) to the writer task, or writes it here when the
    /// task is not running.
    pub(super) async fn queue_record(&self, row: NewCallRecord) {
        let started = self.records.rx.lock().is_ok_and(|r| r.is_none());
        let row = if started {
            match self.records.tx.send(row) {
                Ok(()) => return,
                Err(mpsc::error::SendError(row)) => row,
            }
        } else {
            row
        };
        self.insert_one(&row).await;
        self.records_done(1);
    }

    async fn write_records(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<NewCallRecord>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let n = batch.len();
            match batch.as_slice() {
                [row] => self.insert_one(row).await,
                rows => {
                    if let Err(e) = self.store.insert_call_records(rows).await {
                        error!(error = %e, records = n, "call record batch not stored; storing one by one");
                        for row in rows {
                            self.insert_one(row).await;
                        }
                    }
                }
            }
            batch.clear();
            self.records_done(n);
        }
    }

    async fn insert_one(&self, row: &NewCallRecord) {
        if let Err(e) = self.store.insert_call_record(row).await {
            error!(error = %e, call_id = %row.call_id, "call record not stored");
        }
    }

    /// `n` records are written (or failed): wakes the shutdown wait when none is left.
    fn records_done(&self, n: usize) {
        if self.writing.fetch_sub(n, Ordering::AcqRel) == n {
            self.written.notify_waiters();
        }
    }
}
