//! `shendu-playground`: the Playground on the command line.

fn main() {}
