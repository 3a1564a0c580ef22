//! Call records are written by one task, in batches. A record that arrives after a quiet
//! spell is written at once; after a write, the task gathers what arrives for [`GATHER`]
//! and writes it together, in one statement and one transaction. Under load a call then
//! costs a small share of a commit rather than one of its own, and a record is never more
//! than [`GATHER`] (plus the database's time) late. A batch the database refuses is written
//! again one record at a time, so one bad record loses only itself.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::error;
use warden_storage::NewCallRecord;

use super::Calls;

/// Most records written in one transaction.
const MAX_BATCH: usize = 256;

/// Least time from one write to the next.
const GATHER: Duration = Duration::from_millis(50);

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
        let mut last_write: Option<tokio::time::Instant> = None;
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            if let Some(due) = last_write.map(|at| at + GATHER) {
                if batch.len() < MAX_BATCH && tokio::time::Instant::now() < due {
                    tokio::time::sleep_until(due).await;
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(row) => batch.push(row),
                            Err(_) => break,
                        }
                    }
                }
            }
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
            last_write = Some(tokio::time::Instant::now());
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
