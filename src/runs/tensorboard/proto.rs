//! TensorBoard's own schema as Rust types, generated at build time by prost from the files under
//! `proto/tensorboard/` (see its README and `build.rs`): `Event`, `Summary`, `HistogramProto`,
//! `TensorProto`, and the HParams plugin's messages in [`hparams`].

// The schema holds many messages netdx never writes.
#![allow(clippy::all, missing_docs, dead_code)]

include!(concat!(env!("OUT_DIR"), "/tensorboard.rs"));

pub mod hparams {
    include!(concat!(env!("OUT_DIR"), "/tensorboard.hparams.rs"));
}
