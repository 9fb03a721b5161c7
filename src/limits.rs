//! Sizes netdx refuses before allocating anything: far beyond any debugging run, and small
//! enough that a typo (a layer of 10¹² units, 10¹⁵ steps) fails fast instead of exhausting
//! memory.

/// Largest config or suite file read (bytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest width of a layer, and of a built-in dataset's feature count.
pub const MAX_WIDTH: usize = 1 << 24;
/// Largest side of an image, and largest kernel size, stride, padding or dilation of an image
/// layer: keeps every index a kernel computes within 32 bits.
pub const MAX_IMAGE_SIDE: usize = 1 << 16;
/// Most layers in a model.
pub const MAX_LAYERS: usize = 1024;
/// Most training steps.
pub const MAX_STEPS: usize = 100_000_000;
/// Largest batch.
pub const MAX_BATCH: usize = 1 << 24;
/// Most examples of a built-in dataset.
pub const MAX_GENERATED_EXAMPLES: usize = 1 << 24;
/// Most elements of one weight tensor (4 GiB of f32).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 30;
/// Most parameters of a model (8 GiB of f32).
pub const MAX_PARAMETERS: usize = 1 << 31;
/// Most tokens per example of sequence data (a text window, a row of a token array, a task's
/// sequence).
pub const MAX_CONTEXT: usize = 1 << 20;
/// Largest vocabulary of sequence data: token ids are held as f32, exact up to 2^24.
pub const MAX_VOCAB: usize = 1 << 24;
/// Largest text file read as sequence data (bytes).
pub const MAX_TEXT_BYTES: u64 = 1 << 28;
/// Default ceiling on what netdx allocates for one data file or one array in it, as stored,
/// inflated or widened to f32 (4 GiB: [`MAX_TENSOR_ELEMENTS`] f32 values);
/// `NETDX_MAX_DATA_BYTES` sets it.
pub const MAX_DATA_BYTES: u64 = 1 << 32;
/// Longest line of a CSV file (bytes): an endless line is refused before it fills memory.
pub const MAX_CSV_LINE_BYTES: u64 = 1 << 28;
/// Largest NPY header (bytes): NumPy itself reads at most 10 000 by default.
pub const MAX_NPY_HEADER_BYTES: usize = 1 << 20;
