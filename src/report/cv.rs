//! Rendering of cross-validation: `cv.md` (held-out beside in-sample, overall, per metric
//! and per GPU, the gap as the overfitting measure, folds with their prior fallbacks),
//! `cv.csv` (every held-out prediction with its fold), `cv.svg` (held-out parity) and the
//! model-comparison table.

use super::plots::ParityPoint;
use super::{condition_text, csv_table, markdown_table, plots, sig};
use crate::cv::compare::Entry;
use crate::cv::{CrossValidation, side_by_side};
use crate::interval::Group;

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{:.0} %", 100.0 * v))
}

fn num(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| sig(v, 3))
}

/// `cv.md`.
pub fn cv_markdown(cv: &CrossValidation) -> String {
    let mut out = format!(
        "# Cross-validation of `{}` ({})\n\n{} rows in {} folds; every fold refitted from scratch; {:.1} s.\n\n",
        cv.experiment,
        cv.scheme,
        cv.rows.len(),
        cv.folds.len(),
        cv.wall_time_s
    );
    out.push_str("Held-out figures come from the fold that left the row out; in-sample ones from the fit on all rows. The gap (held-out − in-sample median |ln ratio|) measures overfitting.\n\n");
    out.push_str(&scope_table(cv));
    out.push_str(&format!(
        "\n## Intervals\n\nCoverage of prediction intervals drawn as a calibration draws them (split-conformal quantiles of held-out |ln ratio| by metric, regime and GPU coverage level), each fold's from the other folds' residuals only; share of rows inside, then the median half-width relative to the prediction, in percent:\n\n{}",
        super::intervals::coverage_markdown(&cv.coverage())
    ));
    out.push_str("\n## Folds\n\n");
    out.push_str(&fold_table(cv));
    out
}

/// Held-out beside in-sample figures, per scope.
fn scope_table(cv: &CrossValidation) -> String {
    let rows: Vec<Vec<String>> = side_by_side(cv)
        .into_iter()
        .map(|(scope, h, i)| {
            let gap = h
                .median_abs_log_ratio
                .zip(i.median_abs_log_ratio)
                .map(|(a, b)| a - b);
            vec![
                scope,
                h.n.to_string(),
                num(h.median_ape),
                num(i.median_ape),
                num(h.median_abs_log_ratio),
                num(i.median_abs_log_ratio),
                num(gap),
                pct(h.within_25pct),
                pct(i.within_25pct),
                pct(h.feasibility_accuracy),
                pct(i.feasibility_accuracy),
            ]
        })
        .collect();
    let header = [
        "scope",
        "rows",
        "held-out median APE %",
        "in-sample median APE %",
        "held-out median |ln ratio|",
        "in-sample median |ln ratio|",
        "gap",
        "held-out within 25 %",
        "in-sample within 25 %",
        "held-out feasibility",
        "in-sample feasibility",
    ];
    let right = [
        false, true, true, true, true, true, true, true, true, true, true,
    ];
    markdown_table(&header, &right, &rows)
}

/// One line per fold: what it held out, its training loss, its fallbacks.
fn fold_table(cv: &CrossValidation) -> String {
    let folds: Vec<Vec<String>> = cv
        .folds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let fallback = if f.prior_fallbacks.is_empty() {
                String::new()
            } else {
                format!(
                    "no training data: {} (the architecture's fitted mean, else the global value)",
                    f.prior_fallbacks.join(", ")
                )
            };
            vec![
                (i + 1).to_string(),
                f.label.clone(),
                f.held_out.len().to_string(),
                sig(f.loss, 4),
                fallback,
            ]
        })
        .collect();
    markdown_table(
        &["fold", "held out", "rows", "training loss", "notes"],
        &[true, false, true, true, false],
        &folds,
    )
}

/// `cv.csv`: every row with its fold, held-out and in-sample predictions.
pub fn cv_csv(cv: &CrossValidation) -> String {
    let header = [
        "fold",
        "fold_label",
        "origin",
        "model",
        "gpu",
        "condition",
        "metric",
        "stat",
        "measured",
        "held_out_predicted",
        "held_out_ratio",
        "in_sample_predicted",
        "held_out_infeasible_reason",
    ];
    let na = super::exact_or_na;
    let rows: Vec<Vec<String>> = cv
        .held_out
        .iter()
        .zip(&cv.in_sample)
        .zip(&cv.fold_of_row)
        .map(|((h, i), &f)| {
            vec![
                (f + 1).to_string(),
                cv.folds.get(f).map_or(String::new(), |x| x.label.clone()),
                h.row.origin.to_string(),
                h.row.model.to_string(),
                h.row.gpu.to_string(),
                condition_text(&h.row.condition),
                h.row.metric.to_string(),
                h.row.stat.to_string(),
                na(h.row.value.value()),
                na(h.predicted),
                na(h.ratio),
                na(i.predicted),
                h.infeasible_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    csv_table(&header, &rows)
}

/// `cv.svg`: held-out predictions against measurements.
pub fn cv_svg(cv: &CrossValidation) -> Result<String, plots::PlotError> {
    let mut gpus: Vec<String> = cv.rows.iter().map(|r| r.gpu.to_string()).collect();
    gpus.sort();
    gpus.dedup();
    let intervals = cv.held_out_intervals(crate::interval::Confidence::default());
    let points: Vec<ParityPoint> = (cv.held_out.iter().zip(intervals))
        .filter_map(|(h, interval)| {
            Some(ParityPoint {
                measured: h.row.value.value()?,
                predicted: h.predicted?,
                gpu: gpus.iter().position(|g| *g == h.row.gpu)?,
                interval,
            })
        })
        .collect();
    // The band is the 80 % interval of every held-out error pooled: where a prediction
    // falls for four measurements in five.
    let table = cv.discrepancy();
    let pooled = table.of_group(Group {
        metric: None,
        regime: None,
        level: None,
    });
    let (band, label) = match pooled {
        Some(cell) => {
            let (lo, hi) = cell.factors(crate::interval::Confidence::default());
            (
                vec![1.0 / lo, 1.0 / hi],
                format!(
                    "80 % interval of held-out errors, ×{}–×{}",
                    sig(lo, 3),
                    sig(hi, 3)
                ),
            )
        }
        None => (vec![1.25, 0.75], "±25 %".to_string()),
    };
    plots::parity_points_svg(
        &format!(
            "held-out ({}) predicted vs measured; band: {label}; bars: each row's 80 % interval",
            cv.scheme
        ),
        &gpus,
        &points,
        &band,
    )
}

/// The sources every entry was judged on (the same set for all entries).
fn sources(entries: &[Entry]) -> Vec<String> {
    entries
        .first()
        .map(|e| e.held_out_by_source.keys().cloned().collect())
        .unwrap_or_default()
}

/// The comparison's columns: with more than one source, the score (and each draw's) and a
/// column per source.
fn compare_header(sources: &[String], drawn: bool) -> Vec<String> {
    let mut header: Vec<String> = ["rank", "experiment", "model", "free params"]
        .map(String::from)
        .to_vec();
    if sources.len() > 1 {
        header.push("score: mean of per-source held-out median APE %".into());
        if drawn {
            header.push("score of each draw".into());
        }
        header.extend(
            sources
                .iter()
                .map(|s| format!("held-out median APE % on {s}")),
        );
    }
    header.extend(
        [
            "held-out median APE %",
            "held-out req/s/GPU median APE %",
            "in-sample median APE %",
            "held-out median |ln ratio|",
            "held-out feasibility",
            "AIC",
            "BIC",
            "wall s",
        ]
        .map(String::from),
    );
    header
}

/// Header and cells; with more than one source, the score and a column per source.
fn compare_table(entries: &[Entry]) -> (Vec<String>, Vec<bool>, Vec<Vec<String>>) {
    let sources = sources(entries);
    let several = sources.len() > 1;
    // AIC and BIC compare fits of the same rows only.
    let same_rows = entries.iter().all(|e| {
        entries
            .first()
            .is_some_and(|f| f.in_sample.n == e.in_sample.n)
    });
    let criterion = |x: f64| {
        if same_rows {
            sig(x, 4)
        } else {
            "n/a".to_string()
        }
    };
    let drawn = entries.iter().any(|e| e.draw_scores.len() > 1);
    let header = compare_header(&sources, drawn);
    let rows = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut cells = vec![
                (i + 1).to_string(),
                e.experiment.clone(),
                e.perf_model.clone(),
                e.free_parameters.to_string(),
            ];
            if several {
                cells.push(num(e.score));
                if drawn {
                    let each: Vec<String> = e.draw_scores.iter().map(|s| num(*s)).collect();
                    cells.push(each.join(" / "));
                }
                cells.extend(
                    sources
                        .iter()
                        .map(|s| num(e.held_out_by_source.get(s).and_then(|x| x.median_ape))),
                );
            }
            cells.extend([
                num(e.held_out.median_ape),
                num(e.held_out_rate_median_ape),
                num(e.in_sample.median_ape),
                num(e.held_out.median_abs_log_ratio),
                pct(e.held_out.feasibility_accuracy),
                criterion(e.aic),
                criterion(e.bic),
                format!("{:.1}", e.wall_time_s),
            ]);
            cells
        })
        .collect();
    let right = header
        .iter()
        .map(|h| !matches!(h.as_str(), "experiment" | "model" | "score of each draw"))
        .collect();
    (header, right, rows)
}

/// The comparison as Markdown.
pub fn compare_markdown(scheme: &str, entries: &[Entry]) -> String {
    let (header, right, rows) = compare_table(entries);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let how = if sources(entries).len() > 1 {
        "Every experiment is judged on the same rows, the union of their data, split into the same folds; each predicts a held-out row from a fit on its own rows outside that fold, sources it does not fit included. Ranked by the score, the mean over sources of the held-out median APE (every fold draw pooled), so each source counts once whatever its size"
    } else {
        "Experiments ranked by held-out median APE"
    };
    format!(
        "{how} ({scheme}); AIC/BIC from the in-sample log residuals (n/a when the experiments fit different rows).\n\n{}",
        markdown_table(&header, &right, &rows)
    )
}

/// The comparison as CSV.
pub fn compare_csv(entries: &[Entry]) -> String {
    let (header, _, rows) = compare_table(entries);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    csv_table(&header, &rows)
}
