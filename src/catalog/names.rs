//! Name matching for catalog lookups: the normal form that makes aliases case- and
//! separator-insensitive, and the edit distance behind "did you mean" suggestions.

/// The normal form of a GPU or model name: lowercase, spaces and underscores as `-`,
/// runs of `-` collapsed, and a leading vendor word dropped (`nvidia-smi` prints
/// "NVIDIA H100 80GB HBM3", data files say "H100 80GB HBM3").
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        let c = match c {
            ' ' | '_' | '\t' => '-',
            c => c.to_ascii_lowercase(),
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    for vendor in ["nvidia-", "amd-"] {
        if let Some(rest) = out.strip_prefix(vendor) {
            return rest.to_string();
        }
    }
    out
}

/// Levenshtein distance over chars (strsim's, the crate clap already brings in).
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// How far `query` is from an entry known by `names`: the smallest edit distance, with
/// a containment bonus so `h100` ranks `h100-sxm` above `a100`.
pub fn distance_to(query: &str, names: impl IntoIterator<Item = impl AsRef<str>>) -> usize {
    names
        .into_iter()
        .map(|name| {
            let name = normalize(name.as_ref());
            let d = edit_distance(query, &name);
            if name.contains(query) || query.contains(&name) {
                d / 2
            } else {
                d
            }
        })
        .min()
        .unwrap_or(usize::MAX)
}

/// The three of `candidates` closest to `query` by edit distance (ties by name),
/// joined with ", ": the "closest: …" of every unknown-name error.
pub fn closest_three<'a>(query: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let mut ranked: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(query, c), c))
        .collect();
    ranked.sort_unstable();
    ranked
        .iter()
        .take(3)
        .map(|(_, c)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

/// serde's "unknown field `x`, expected one of `a`, `b`, …" (or "expected `a` or `b`"),
/// rewritten to name the three valid fields closest to the unknown one; any other message
/// is returned as it is. A list of twenty names hides the one the user meant.
pub fn closest_fields(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((unknown, expected)) = rest.split_once("`, expected ") else {
        return message.to_string();
    };
    let valid: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| !name.is_empty())
        .collect();
    if valid.is_empty() {
        return message.to_string();
    }
    format!(
        "unknown field `{unknown}`; closest: {}",
        closest_three(unknown, valid)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_separators_and_vendor() {
        assert_eq!(normalize("H100 80GB HBM3"), "h100-80gb-hbm3");
        assert_eq!(normalize("H100_80GB_HBM3"), "h100-80gb-hbm3");
        assert_eq!(normalize("NVIDIA  H100 80GB HBM3 "), "h100-80gb-hbm3");
        assert_eq!(
            normalize("meta/llama3-8b-instruct"),
            "meta/llama3-8b-instruct"
        );
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("h100", "h100"), 0);
    }

    #[test]
    fn containment_ranks_prefixes_close() {
        assert!(distance_to("h100", ["h100-sxm"]) < distance_to("h100", ["a100-sxm-80gb"]));
    }
}
