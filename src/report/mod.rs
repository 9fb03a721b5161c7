//! Rendering a [`SuiteReport`](crate::suite::SuiteReport): a terminal table for people, JUnit
//! XML for CI, and a self-contained HTML page with plots of a recorded run. JSON is the report
//! itself, serialized.

pub mod html;
mod junit;
pub mod svg;
mod terminal;

pub use crate::text::number;
pub use junit::to_junit;
pub use terminal::{to_text, use_color};
