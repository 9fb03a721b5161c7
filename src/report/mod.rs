//! Rendering a [`SuiteReport`](crate::suite::SuiteReport): a terminal table for people, JUnit
//! XML for CI. JSON is the report itself, serialized.

mod junit;
mod terminal;

pub use crate::text::number;
pub use junit::to_junit;
pub use terminal::{to_text, use_color};
