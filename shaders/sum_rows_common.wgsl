// The parameters of sum_rows and sum_rows_vec4: column sums of a row-major [rows, cols]
// matrix over `splits` runs of `rows_per_split` rows.
struct Params {
    rows: u32,
    cols: u32,
    rows_per_split: u32,
    splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
