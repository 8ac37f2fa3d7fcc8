//! SVG plots of a calibration, drawn with plotters' SVG backend into strings (no system
//! fonts needed): `parity.svg` (predicted vs measured, log-log, one colour per GPU, the
//! y = x line, a band, and each row's prediction interval as a faint vertical bar when the
//! calibration has intervals) and `residuals.svg` (log residual per row, grouped by GPU).
//! Above [`MAX_PLOT_POINTS`] points a plot draws an evenly strided sample and says so in
//! its title: every point is a few hundred bytes of SVG, and a million-row plot would be
//! a file no browser opens.

use plotters::prelude::*;

use crate::fit::Calibration;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The most points a plot draws: about 2 MB of SVG, twice that with interval bars.
pub const MAX_PLOT_POINTS: usize = 20_000;

/// Every k-th point, for the smallest k that keeps at most [`MAX_PLOT_POINTS`], and the
/// title's note saying so (empty when every point is drawn).
fn thinned<T: Copy>(points: &[T]) -> (Vec<T>, String) {
    if points.len() <= MAX_PLOT_POINTS {
        return (points.to_vec(), String::new());
    }
    let stride = points.len().div_ceil(MAX_PLOT_POINTS);
    let kept: Vec<T> = points.iter().step_by(stride).copied().collect();
    let note = format!(
        " — {} of {} points (every {stride}th)",
        kept.len(),
        points.len()
    );
    (kept, note)
}

/// One point of a parity plot: a row's measurement, its prediction, its GPU (an index
/// into the plot's GPU list) and the prediction's interval, if it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParityPoint {
    /// The measured value (x).
    pub measured: f64,
    /// The predicted value (y).
    pub predicted: f64,
    /// Index of the row's GPU.
    pub gpu: usize,
    /// The prediction's interval (low, high), drawn as a vertical bar.
    pub interval: Option<(f64, f64)>,
}

fn gpus(c: &Calibration) -> Vec<String> {
    let mut g: Vec<String> = c.rows.iter().map(|r| r.gpu.to_string()).collect();
    g.sort();
    g.dedup();
    g
}

/// The points of rows with both numbers, each with its interval from `intervals` (one
/// per row, or none).
fn pairs(
    c: &Calibration,
    gpus: &[String],
    intervals: Option<&[Option<(f64, f64)>]>,
) -> Vec<ParityPoint> {
    (c.rows.iter().zip(&c.fits).enumerate())
        .filter_map(|(i, (r, f))| {
            Some(ParityPoint {
                measured: r.value.value()?,
                predicted: f.predicted?,
                gpu: gpus.iter().position(|g| *g == r.gpu)?,
                interval: intervals.and_then(|all| all.get(i).copied().flatten()),
            })
        })
        .collect()
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// The axes' common range: a factor of two beyond the smallest and largest value, at
/// least a factor of eight wide.
fn square_range(points: &[ParityPoint]) -> (f64, f64) {
    let values = || points.iter().flat_map(|p| [p.measured, p.predicted]);
    let lo = values().fold(f64::INFINITY, f64::min).max(1e-9) / 2.0;
    let hi = values().fold(0.0, f64::max).max(lo * 4.0) * 2.0;
    (lo, hi)
}

/// Each point's interval as a vertical bar in its GPU's colour, faint (drawn before the
/// points, which stay readable over them) and clamped to the plot's square `[lo, hi]`,
/// because plotters does not clip lines.
fn interval_bars(
    points: &[ParityPoint],
    (lo, hi): (f64, f64),
) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    points.iter().filter_map(move |p| {
        let (low, high) = p.interval?;
        let colour = PALETTE[p.gpu % PALETTE.len()].mix(0.25);
        let ends = [(p.measured, low.max(lo)), (p.measured, high.min(hi))];
        Some(PathElement::new(ends, colour))
    })
}

fn draw_parity(
    title: &str,
    gpus: &[String],
    points: &[ParityPoint],
    band: &[f64],
    out: &mut String,
) -> PlotResult {
    let (lo, hi) = square_range(points);
    let root = SVGBackend::with_string(out, (720, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("measured")
        .y_desc("predicted")
        .draw()?;
    // plotters clamps points outside the range to its border (it does not clip lines), so
    // each line runs between the two points where it meets the square [lo, hi]².
    let diagonal = |k: f64, opacity: f64| {
        let (start, end) = if k >= 1.0 {
            ((lo, lo * k), (hi / k, hi))
        } else {
            ((lo / k, lo), (hi, hi * k))
        };
        LineSeries::new([start, end], BLACK.mix(opacity))
    };
    chart.draw_series(diagonal(1.0, 0.8))?;
    for &k in band {
        chart.draw_series(diagonal(k, 0.3))?;
    }
    chart.draw_series(interval_bars(points, (lo, hi)))?;
    for (i, gpu) in gpus.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.gpu == i)
                    .map(|p| Circle::new((p.measured, p.predicted), 4, colour.filled())),
            )?
            .label(gpu.as_str())
            .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn draw_residuals(c: &Calibration, out: &mut String) -> PlotResult {
    let gpus = gpus(c);
    let mut rows: Vec<(usize, f64)> = c
        .rows
        .iter()
        .zip(&c.fits)
        .filter_map(|(r, f)| Some((gpus.iter().position(|g| *g == r.gpu)?, f.residual?)))
        .collect();
    rows.sort_by_key(|r| r.0);
    let (rows, note) = thinned(&rows);
    let limit = rows.iter().map(|r| r.1.abs()).fold(0.5, f64::max) * 1.1;
    let root = SVGBackend::with_string(out, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("log residual ln(predicted/measured) per row, grouped by GPU{note}"),
            ("sans-serif", 18),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..rows.len().max(1) as f64, -limit..limit)?;
    chart
        .configure_mesh()
        .x_desc("row")
        .y_desc("log residual")
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(0.0, 0.0), (rows.len() as f64, 0.0)],
        BLACK.mix(0.6),
    ))?;
    for (i, gpu) in gpus.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mine = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.0 == i)
            .map(|(x, r)| Circle::new((x as f64 + 0.5, r.1), 4, colour.filled()));
        chart
            .draw_series(mine)?
            .label(gpu.as_str())
            .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A plot plotters could not draw (an SVG backend writes to memory, so this is a
/// drawing error: a font, a degenerate axis range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drawing a plot: {0}")]
pub struct PlotError(String);

impl PlotError {
    fn from_drawing(e: impl std::fmt::Display) -> PlotError {
        PlotError(e.to_string())
    }
}

/// A log-log parity plot of `points`, coloured by GPU, with y = x, the lines y = k·x for
/// each k of `band`, and each point's interval as a vertical bar; or the plotting error.
pub fn parity_points_svg(
    title: &str,
    gpus: &[String],
    points: &[ParityPoint],
    band: &[f64],
) -> Result<String, PlotError> {
    let (points, note) = thinned(points);
    let mut out = String::new();
    draw_parity(&format!("{title}{note}"), gpus, &points, band, &mut out)
        .map_err(PlotError::from_drawing)?;
    Ok(out)
}

/// `parity.svg` with each row's interval from `intervals` (one per row) when the
/// calibration has them, or the plotting error as text.
pub fn parity_svg(
    c: &Calibration,
    intervals: Option<&[Option<(f64, f64)>]>,
) -> Result<String, PlotError> {
    let gpus = gpus(c);
    let title = match intervals {
        Some(_) => "predicted vs measured (log-log); band: ±25 %; bars: each row's 80 % interval",
        None => "predicted vs measured (log-log); band: ±25 %",
    };
    parity_points_svg(title, &gpus, &pairs(c, &gpus, intervals), &[1.25, 0.75])
}

/// `residuals.svg`, or the plotting error as text.
pub fn residuals_svg(c: &Calibration) -> Result<String, PlotError> {
    let mut out = String::new();
    draw_residuals(c, &mut out).map_err(PlotError::from_drawing)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plot_of_more_points_than_the_cap_draws_a_stride_and_says_so() {
        let points: Vec<usize> = (0..120_001).collect();
        let (kept, note) = thinned(&points);
        assert!(kept.len() <= MAX_PLOT_POINTS);
        assert_eq!(kept[1] - kept[0], 7);
        assert!(note.contains("of 120001 points (every 7th)"), "{note}");
        let (all, none) = thinned(&points[..MAX_PLOT_POINTS]);
        assert_eq!((all.len(), none.as_str()), (MAX_PLOT_POINTS, ""));
    }

    #[test]
    fn a_parity_plot_of_a_hundred_thousand_rows_with_intervals_stays_a_few_megabytes() {
        let points: Vec<ParityPoint> = (0..100_000)
            .map(|i| {
                let measured = 1.0 + f64::from(i) / 1000.0;
                ParityPoint {
                    measured,
                    predicted: measured * 1.1,
                    gpu: i as usize % 3,
                    interval: Some((measured * 0.8, measured * 1.4)),
                }
            })
            .collect();
        let gpus = ["a100-sxm", "h100-sxm", "l40s"].map(String::from);
        let svg = parity_points_svg("t", &gpus, &points, &[]).unwrap();
        assert!(svg.len() < 5_000_000, "{} bytes", svg.len());
        assert!(svg.contains("of 100000 points"));
    }

    #[test]
    fn a_parity_plot_draws_each_interval_as_a_faint_bar() {
        let point = |measured: f64, interval| ParityPoint {
            measured,
            predicted: measured * 1.1,
            gpu: 0,
            interval,
        };
        let points = [
            point(1.0, Some((0.8, 1.4))),
            point(2.0, None),
            point(4.0, Some((3.0, 6.0))),
        ];
        let gpus = ["h100-sxm".to_string()];
        let svg = parity_points_svg("t", &gpus, &points, &[]).unwrap();
        let bars = svg.matches("opacity=\"0.25\"").count();
        assert_eq!(bars, 2, "{svg}");
    }
}
