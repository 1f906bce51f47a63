//! Terminal output: aligned tables.

/// Prints rows as a table with a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    portico_catalog::text_table(header, rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_aligned() {
        let t = super::table(&["A", "B"], &[vec!["long-cell".into(), "x".into()]]);
        assert_eq!(t, "A          B\nlong-cell  x");
    }
}
