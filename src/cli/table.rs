//! Aligned plain-text tables for `coldpotato show` (no I/O, no colour).
//!
//! Used by `super::render` on the CLI's own thread; no tasks or channels.
//! Cells are sanitised: peer-controlled text (NOTIFICATION data, event
//! messages) cannot inject terminal control sequences or break rows.

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers.
    Right,
}

/// A table under construction: headers, alignments, rows of cells.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

/// Space between columns.
const GAP: &str = "  ";

impl Table {
    /// A table with these column headers and alignments.
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank, extra cells are dropped.
    /// Number of rows (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| sanitize(&c)).collect();
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    /// Renders header and rows, columns padded to their widest cell, each
    /// line ending in `\n` without trailing spaces.
    pub fn render(&self) -> String {
        self.render_within(&mut Vec::new(), true)
    }

    /// Renders the rows (and the header when `header`) with each column at
    /// least as wide as `widths` says, widening `widths` where a cell needs
    /// more: a stream of rows rendered piece by piece stays aligned (`show
    /// events --follow`).
    pub fn render_within(&self, widths: &mut Vec<usize>, header: bool) -> String {
        widths.resize(self.columns.len(), 0);
        for (i, (h, _)) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|r| r[i].chars().count());
            let widest = cells.chain(std::iter::once(h.chars().count())).max();
            widths[i] = widths[i].max(widest.unwrap_or(0));
        }
        let widths: &[usize] = widths;
        let names: Vec<String> = self.columns.iter().map(|(h, _)| h.to_string()).collect();
        let mut out = String::new();
        let head = header.then_some(&names);
        for cells in head.into_iter().chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                match self.columns[i].1 {
                    Align::Left => {
                        line.push_str(cell);
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Replaces control characters (newlines, escapes) with visible escapes.
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell_and_numbers_right_aligned() {
        let mut t = Table::new(&[
            ("NAME", Align::Left),
            ("N", Align::Right),
            ("NOTE", Align::Left),
        ]);
        t.row(vec!["a".into(), "1234".into(), "x".into()]);
        t.row(vec!["longer-name".into(), "5".into(), String::new()]);
        assert_eq!(
            t.render(),
            "NAME            N  NOTE\n\
             a            1234  x\n\
             longer-name     5\n"
        );
    }

    #[test]
    fn control_characters_in_cells_are_escaped() {
        let mut t = Table::new(&[("MSG", Align::Left)]);
        t.row(vec!["bad\nline\x1b[31m".into()]);
        assert_eq!(t.render(), "MSG\nbad\\nline\\u{1b}[31m\n");
    }

    #[test]
    fn rows_rendered_piece_by_piece_keep_and_widen_the_columns() {
        let mut widths = vec![0, 5];
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Right)]);
        t.row(vec!["x".into(), "1".into()]);
        assert_eq!(t.render_within(&mut widths, true), "A      B\nx      1\n");
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Right)]);
        t.row(vec!["longer".into(), "2".into()]);
        assert_eq!(t.render_within(&mut widths, false), "longer      2\n");
        assert_eq!(widths, vec![6, 5]);
    }

    #[test]
    fn short_rows_are_filled_with_blanks() {
        let mut t = Table::new(&[("A", Align::Left), ("B", Align::Left)]);
        t.row(vec!["x".into()]);
        assert_eq!(t.render(), "A  B\nx\n");
    }
}
