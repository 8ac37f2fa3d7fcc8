//! The files a calibration writes, as strings: `fitted.json` (what `--params` reads back,
//! with provenance and uncertainty), `residuals.csv` (every row's fit) and `report.md`
//! (parameters with uncertainty, fit summary per metric and GPU, worst rows, hypothesis
//! ranking, flags).

use super::evaluation::summary_markdown;
use super::{condition_text, markdown_table, sig};
use crate::evaluate::{RowEvaluation, ScopeSummaries};
use crate::experiment::ValidExperiment;
use crate::fit::Calibration;
use crate::fit::uncertainty::Flag;
use crate::fitted::FittedModel;

pub use crate::fitted::DataFile;

/// Row `i` as an evaluation (the same summaries as `infercal evaluate`).
pub fn evaluation_of(c: &Calibration, i: usize) -> RowEvaluation {
    let (row, fit) = (&c.rows[i], &c.fits[i]);
    RowEvaluation {
        row: row.clone(),
        predicted: fit.predicted,
        infeasible_reason: fit.reason.clone(),
        ratio: fit.predicted.zip(row.value.value()).map(|(p, m)| p / m),
    }
}

/// Every row's evaluation counted into per-scope summaries, one row at a time (a
/// million-row calibration never holds a second copy of its rows).
pub fn scope_summaries(c: &Calibration) -> ScopeSummaries {
    let mut scopes = ScopeSummaries::default();
    for i in 0..c.rows.len() {
        scopes.add(&evaluation_of(c, i));
    }
    scopes
}

/// `fitted.json` (see [`FittedModel`], its one definition).
pub fn fitted_json(
    e: &ValidExperiment,
    c: &Calibration,
    data: &[DataFile],
    intervals: crate::fitted::Tables<'_>,
) -> Result<String, serde_json::Error> {
    FittedModel::new(e, c, data, intervals).to_json()
}

/// `residuals.csv`, written row by row to `out` (a million-row calibration's file is
/// hundreds of megabytes: it is never held in memory whole).
pub fn write_residuals_csv(c: &Calibration, out: impl std::io::Write) -> csv::Result<()> {
    let total: f64 = c.row_losses.iter().sum();
    let header = [
        "origin",
        "source",
        "model",
        "gpu",
        "condition",
        "metric",
        "stat",
        "measured",
        "predicted",
        "ratio",
        "log_residual",
        "weight",
        "loss_share",
        "infeasible_reason",
    ];
    let na = super::exact_or_na;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header)?;
    let rows = c.rows.iter().zip(&c.fits);
    for ((row, fit), (w, l)) in rows.zip(c.weights.iter().zip(&c.row_losses)) {
        writer.write_record([
            row.origin.to_string(),
            row.source.to_string(),
            row.model.to_string(),
            row.gpu.to_string(),
            condition_text(&row.condition),
            row.metric.to_string(),
            row.stat.to_string(),
            na(row.value.value()),
            na(fit.predicted),
            na(fit.predicted.zip(row.value.value()).map(|(p, m)| p / m)),
            na(fit.residual),
            format!("{w}"),
            format!("{}", if total > 0.0 { l / total } else { 0.0 }),
            fit.reason.clone().unwrap_or_default(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// A parameter estimate as table cells: `name [group]`, value, std error, 95 % interval, unit.
pub fn estimate_cells(e: &crate::fit::Estimate) -> Vec<String> {
    let name = if e.group.is_empty() {
        e.name.to_string()
    } else {
        format!("{} [{}]", e.name, e.group)
    };
    vec![
        name,
        sig(e.value, 4),
        e.std_error.map_or("—".into(), |s| sig(s, 2)),
        e.interval_95.map_or("—".into(), |[lo, hi]| {
            format!("{} – {}", sig(lo, 3), sig(hi, 3))
        }),
        e.unit.clone(),
    ]
}

fn parameter_table(c: &Calibration) -> String {
    let rows: Vec<Vec<String>> = c
        .estimates
        .iter()
        .map(|e| {
            let mut cells = estimate_cells(e);
            cells.push(if e.free { "free" } else { "fixed" }.to_string());
            cells.push(joined(&e.flags));
            cells
        })
        .collect();
    markdown_table(
        &[
            "parameter",
            "value",
            "std error",
            "95 % interval",
            "unit",
            "status",
            "flags",
        ],
        &[false, true, true, true, false, false, false],
        &rows,
    )
}

fn joined(flags: &[Flag]) -> String {
    let sentences: Vec<String> = flags.iter().map(Flag::to_string).collect();
    sentences.join("; ")
}

fn worst_rows(c: &Calibration) -> String {
    let mut order: Vec<usize> = (0..c.rows.len()).collect();
    order.sort_by(|&a, &b| c.row_losses[b].total_cmp(&c.row_losses[a]).then(a.cmp(&b)));
    let rows: Vec<Vec<String>> = order
        .into_iter()
        .take(10)
        .map(|i| {
            let e = &evaluation_of(c, i);
            let num = |x: Option<f64>| x.map_or("N/A".into(), |v| sig(v, 4));
            vec![
                e.row.origin.to_string(),
                format!(
                    "{} / {} / {}",
                    e.row.model,
                    e.row.gpu,
                    condition_text(&e.row.condition)
                ),
                e.row.metric.to_string(),
                num(e.row.value.value()),
                num(e.predicted),
                num(e.ratio),
                sig(c.row_losses[i], 3),
                e.infeasible_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    markdown_table(
        &[
            "row",
            "cell",
            "metric",
            "measured",
            "predicted",
            "pred/meas",
            "loss",
            "infeasible because",
        ],
        &[false, false, false, true, true, true, true, false],
        &rows,
    )
}

/// The memory model against static-batch runs: of those that did not complete, how many
/// the model calls infeasible; of those that completed, how many it calls feasible.
fn memory_check(c: &Calibration) -> String {
    let runs: Vec<(bool, bool)> = c
        .rows
        .iter()
        .zip(&c.fits)
        .filter(|(r, _)| matches!(r.condition, crate::scenario::Condition::StaticBatch { .. }))
        .map(|(r, f)| (r.value.value().is_some(), f.predicted.is_some()))
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let failed = runs.iter().filter(|(done, _)| !done).count();
    let failed_right = runs
        .iter()
        .filter(|(done, feasible)| !done && !feasible)
        .count();
    let done = runs.len() - failed;
    let done_right = runs
        .iter()
        .filter(|(done, feasible)| *done && *feasible)
        .count();
    let share = |a: usize, b: usize| {
        if b == 0 {
            "n/a".to_string()
        } else {
            format!("{:.0} %", 100.0 * a as f64 / b as f64)
        }
    };
    format!(
        "\n## Memory model check (static-batch rows)\n\nOf {failed} rows whose run did not complete, the model calls {failed_right} infeasible ({}); \
         of {done} that completed, it calls {done_right} feasible ({}). Overall {} of {} right ({}).\n",
        share(failed_right, failed),
        share(done_right, done),
        failed_right + done_right,
        runs.len(),
        share(failed_right + done_right, runs.len())
    )
}

/// `report.md`.
pub fn report_markdown(e: &ValidExperiment, c: &Calibration, data: &[DataFile]) -> String {
    let mut out = format!("# Calibration `{}`\n\n{}\n\n", e.name, e.description);
    out.push_str(&format!(
        "Model `{}`; {} rows from {}; loss {} (grid stage best {}); {} objective evaluations in {:.2} s; seed {}.{}\n\n",
        e.perf_model,
        c.rows.len(),
        data.iter().map(|d| format!("`{}`", d.path)).collect::<Vec<_>>().join(", "),
        sig(c.loss, 5),
        sig(c.grid_loss, 5),
        c.evaluations,
        c.wall_time_s,
        c.seed,
        if c.interrupted { " **Interrupted: best point so far.**" } else { "" }
    ));
    out.push_str("## Parameters\n\nStandard errors from the Gauss-Newton covariance of the weighted log residuals; intervals mapped back through the bounds transform.\n\n");
    out.push_str(&parameter_table(c));
    let free = c.estimates.iter().filter(|e| e.free).count();
    out.push_str(&format!(
        "\nThe data determine {} of the {} free-parameter directions (rank of the Jacobian of the residuals).{}\n",
        c.identified_directions,
        free,
        if c.identified_directions < free { " The rest are held by the priors: more rows, or fewer free parameters, are needed to measure them." } else { "" }
    ));
    out.push_str(&format!(
        "\nDeployment assumptions chosen: {}.\n\n",
        c.assumptions.label()
    ));
    out.push_str("## Fit summary\n\n");
    let scopes = scope_summaries(c).in_reading_order();
    out.push_str(&summary_markdown(
        "scope",
        scopes.iter().map(|(n, s)| (n.clone(), s)).collect(),
    ));
    let ratios: Vec<f64> = c
        .rows
        .iter()
        .zip(&c.fits)
        .filter_map(|(row, fit)| fit.predicted.zip(row.value.value()).map(|(p, m)| p / m))
        .collect();
    if let (Some(min), Some(max)) = (
        ratios.iter().copied().reduce(f64::min),
        ratios.iter().copied().reduce(f64::max),
    ) {
        out.push_str(&format!(
            "\nAt the optimum, predicted/measured spans {}× to {}× over the {} numeric rows predicted feasible (a factor of {} between the extremes).\n",
            sig(min, 3), sig(max, 3), ratios.len(), sig(max / min, 3)
        ));
    }
    out.push_str(&memory_check(c));
    out.push_str("\n## Worst rows\n\n");
    out.push_str(&worst_rows(c));
    out.push_str(&hypotheses_section(c));
    out.push_str(&flags_section(c));
    out
}

/// The deployment hypotheses ranked by loss (nothing when there was one).
fn hypotheses_section(c: &Calibration) -> String {
    if c.hypotheses.len() <= 1 {
        return String::new();
    }
    let rows: Vec<Vec<String>> = c
        .hypotheses
        .iter()
        .enumerate()
        .map(|(i, h)| vec![(i + 1).to_string(), h.assumptions.label(), sig(h.loss, 5)])
        .collect();
    format!(
        "\n## Hypotheses ranked\n\n{}",
        markdown_table(&["rank", "deployment", "loss"], &[true, false, true], &rows)
    )
}

/// The parameters the data cannot pin down, with why.
fn flags_section(c: &Calibration) -> String {
    let mut out = String::new();
    let flagged: Vec<String> = c
        .estimates
        .iter()
        .filter(|e| !e.flags.is_empty())
        .map(|e| {
            format!(
                "- `{}{}`: {}",
                e.name,
                if e.group.is_empty() {
                    String::new()
                } else {
                    format!("[{}]", e.group)
                },
                joined(&e.flags)
            )
        })
        .collect();
    out.push_str("\n## Flags\n\n");
    if flagged.is_empty() {
        out.push_str("Every free parameter is identified by the data and inside its bounds.\n");
    } else {
        out.push_str("Parameters the data cannot pin down (read their values as assumptions, not measurements):\n\n");
        out.push_str(&flagged.join("\n"));
        out.push('\n');
    }
    out
}
