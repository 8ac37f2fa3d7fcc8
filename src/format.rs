//! Numbers and tables as text: significant digits for people, exact values for files,
//! Markdown and CSV tables. The lowest layer of output: the benchmark importers and the
//! reports both write through it, and it knows no type of the crate.

/// Formats `x` with `digits` significant digits, without exponent for everyday
/// magnitudes (planners read 0.0057 and 1768, not 5.7e-3).
pub fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let decimals_at = |magnitude: i32| (digits as i32 - 1 - magnitude).max(0) as usize;
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = decimals_at(magnitude);
    let text = format!("{x:.decimals$}");
    // Rounding can carry into the next power of ten (0.9996 to 1.000): count the
    // digits from the rounded value, or one too many are printed.
    let rounded_magnitude = text
        .parse::<f64>()
        .map_or(magnitude, |r| r.abs().log10().floor() as i32);
    if rounded_magnitude > magnitude {
        let decimals = decimals_at(rounded_magnitude);
        return format!("{x:.decimals$}");
    }
    text
}

/// A number printed exactly (shortest form that reads back the same), or `NA`: the form
/// data files use so that other tools read back what was computed.
pub fn exact_or_na(x: Option<f64>) -> String {
    x.map_or("NA".to_string(), |v| format!("{v}"))
}

/// Renders a Markdown table; `align_right` marks numeric columns.
pub fn markdown_table(header: &[&str], align_right: &[bool], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    let rule: Vec<&str> = align_right
        .iter()
        .map(|right| if *right { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("|{}|\n", rule.join("|")));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// Renders rows as CSV (RFC 4180 quoting via the csv crate).
pub fn csv_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail; a failure would only drop the row, never panic.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// A name that is none of a fixed set of choices (a metric, a statistic, a scheme, a
/// format): what was given and what would have been understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`; {expected}")]
pub struct UnknownChoice {
    /// What kind of name it was meant to be.
    pub what: &'static str,
    /// The name given.
    pub given: String,
    /// The choices, as a phrase ("expected one of mean, p50, …").
    pub expected: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_keeps_small_numbers_readable() {
        assert_eq!(sig(0.0057, 2), "0.0057");
        assert_eq!(sig(1768.3, 4), "1768");
        assert_eq!(sig(11.0357, 4), "11.04");
        assert_eq!(sig(0.0, 3), "0");
        // A rounding that carries into the next power of ten keeps the digits asked for.
        assert_eq!(sig(0.99962, 3), "1.00");
        assert_eq!(sig(9.996, 3), "10.0");
        assert_eq!(sig(-0.09996, 3), "-0.100");
        assert_eq!(sig(99.96, 3), "100");
    }

    #[test]
    fn markdown_table_has_alignment_rule() {
        let t = markdown_table(&["a", "b"], &[false, true], &[vec!["x".into(), "1".into()]]);
        assert_eq!(t, "| a | b |\n|---|---:|\n| x | 1 |\n");
    }

    #[test]
    fn csv_quotes_commas() {
        let t = csv_table(&["a"], &[vec!["x,y".into()]]);
        assert_eq!(t, "a\n\"x,y\"\n");
    }
}
