//! Types both planes speak: command/event protocol over per-core rtrb SPSC rings
