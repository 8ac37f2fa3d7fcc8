use crate::bench::Name;
use std::sync::atomic::AtomicBool;

use super::*;
use crate::bench::{EMBEDDED_FILES, Metric, Observed, load_csv};
use crate::experiment::{content_hash, parse, validate};
use crate::fit::space::ParamSpace;
use crate::perf::PerfModelKind;
use crate::perf::registry::Tie;
use crate::scenario::{Condition, Deployment, Scenario, Stat};

pub(crate) fn experiment(text: &str) -> ValidExperiment {
    let catalog = Catalog::embedded().unwrap();
    let raw = parse("t.toml", text).unwrap();
    validate(
        raw,
        "t.toml",
        content_hash(text.as_bytes()),
        &catalog,
        &|_| true,
    )
    .unwrap()
}

fn shipped(name: &str) -> ValidExperiment {
    crate::experiment::shipped(name, &Catalog::embedded().unwrap())
        .unwrap()
        .unwrap()
}

fn chart() -> Vec<BenchRow> {
    let (name, text) = EMBEDDED_FILES[0];
    load_csv(name, text, &Catalog::embedded().unwrap()).unwrap()
}

fn run(e: &ValidExperiment, rows: &[BenchRow]) -> Calibration {
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    calibrate(e, rows, &Catalog::embedded().unwrap(), &options).unwrap()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// `e` on the chart gives byte-identical parameters, loss and work on 1, 2 and 16 threads.
fn assert_thread_independent(e: &ValidExperiment) {
    let rows = chart();
    let one = in_pool(1, || run(e, &rows));
    let two = in_pool(2, || run(e, &rows));
    let sixteen = in_pool(16, || run(e, &rows));
    let json = |c: &Calibration| serde_json::to_string(&c.params).unwrap();
    assert_eq!(json(&one), json(&two));
    assert_eq!(json(&one), json(&sixteen));
    assert_eq!(one.loss.to_bits(), two.loss.to_bits());
    assert_eq!(one.evaluations, sixteen.evaluations);
}

#[test]
fn same_seed_same_parameters_on_one_two_and_sixteen_threads() {
    assert_thread_independent(&shipped("serving-global"));
}

#[test]
fn levenberg_marquardt_gives_the_same_parameters_on_one_two_and_sixteen_threads() {
    let mut e = shipped("serving-per-gpu");
    e.search.method = RefineMethod::LevenbergMarquardt;
    assert_thread_independent(&e);
}

#[test]
fn refinement_never_loses_to_the_grid() {
    let c = run(&shipped("serving-global"), &chart());
    assert!(c.loss <= c.grid_loss, "{} > {}", c.loss, c.grid_loss);
}

fn rate_median_ape(c: &Calibration) -> f64 {
    let apes: Vec<f64> = c
        .rows
        .iter()
        .zip(&c.fits)
        .filter(|(r, _)| r.metric == Metric::ReqPerSPerGpu)
        .filter_map(|(r, f)| Some(crate::stats::ape(f.predicted?, r.value.value()?)))
        .collect();
    crate::stats::median(&apes).unwrap()
}

fn every_na_right(c: &Calibration) -> bool {
    c.rows
        .iter()
        .zip(&c.fits)
        .all(|(r, f)| (r.value == Observed::NotAchievable) == f.predicted.is_none())
}

#[test]
fn serving_per_gpu_fits_the_chart_within_fifteen_percent() {
    let c = run(&shipped("serving-per-gpu"), &chart());
    let ape = rate_median_ape(&c);
    assert!(ape <= 15.0, "in-sample median APE {ape:.1} %");
    assert!(every_na_right(&c), "every N/A cell right");
}

#[test]
fn no_single_seed_efficiency_fits_the_chart() {
    let c = run(&shipped("reference-efficiency"), &chart());
    let ratios: Vec<f64> = c
        .rows
        .iter()
        .zip(&c.fits)
        .filter_map(|(r, f)| Some(f.predicted? / r.value.value()?))
        .collect();
    let spread = ratios.iter().copied().fold(0.0, f64::max)
        / ratios.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        spread > 10.0,
        "the best single factor still leaves a {spread:.0}× spread of ratios"
    );
    assert!(rate_median_ape(&c) > 50.0);
}

#[test]
fn hypotheses_are_enumerated_and_ranked() {
    let c = run(&shipped("serving-hypotheses"), &chart());
    assert_eq!(c.hypotheses.len(), 12);
    assert!(c.hypotheses.windows(2).all(|w| w[0].loss <= w[1].loss));
    assert_eq!(c.assumptions, c.hypotheses[0].assumptions);
}

/// Two prompt lengths at two batch sizes: enough to identify efficiencies and overheads.
pub(crate) const RECOVERY_SHAPES: [(u32, u32); 4] = [(2048, 1), (256, 1), (2048, 32), (256, 64)];

/// Rows the model itself generates at `truth`: static-batch TTFT and ITL of each
/// (prompt length, batch size) in `shapes` per GPU.
pub(crate) fn synthetic_rows(
    truth: &ParamSet,
    gpus: &[&str],
    shapes: &[(u32, u32)],
) -> Vec<BenchRow> {
    let catalog = Catalog::embedded().unwrap();
    let model = PerfModelKind::Serving.with_params(truth);
    let mut rows = Vec::new();
    for gpu_slug in gpus {
        let gpu = catalog.gpu(gpu_slug).unwrap();
        for &(isl, batch) in shapes {
            let scenario = Scenario {
                model: catalog.model("llama-3.1-8b").unwrap(),
                gpu,
                deployment: Deployment::assumed(gpu, None, None, None),
                isl,
                osl: 128,
                condition: Condition::StaticBatch { batch_size: batch },
                stat: Stat::Mean,
            };
            let p = model.predict(&scenario).unwrap();
            for (metric, value) in [(Metric::TtftS, p.ttft_s), (Metric::ItlS, p.itl_s)] {
                rows.push(BenchRow {
                    source: "synthetic".into(),
                    model: "llama-3.1-8b".into(),
                    gpu: gpu.slug.as_str().into(),
                    tp: None,
                    pp: None,
                    precision: None,
                    engine: Name::default(),
                    isl,
                    osl: 128,
                    condition: scenario.condition,
                    metric,
                    stat: Stat::Mean,
                    value: Observed::Value(value),
                    note: Name::default(),
                    synthetic_weights: false,
                    origin: crate::bench::Origin {
                        file: "synthetic".into(),
                        line: rows.len() as u64 + 2,
                    },
                });
            }
        }
    }
    rows
}

pub(crate) fn recovery_experiment(per: &str) -> ValidExperiment {
    experiment(&format!(
        r#"
name = "recovery"
perf_model = "serving"
data = ["synthetic.csv"]
[parameters.prefill_efficiency]
mode = "free"
per = "{per}"
init = 0.5
bounds = [0.05, 1.0]
prior = {{ center = 0.5, width = 1000.0 }}
[parameters.decode_efficiency]
mode = "free"
per = "{per}"
init = 0.5
bounds = [0.05, 1.0]
prior = {{ center = 0.5, width = 1000.0 }}
[parameters.step_overhead_s]
mode = "free"
init = 0.002
bounds = [0.0001, 0.05]
prior = {{ center = 0.002, width = 1000.0 }}
[parameters.request_overhead_s]
mode = "free"
init = 0.01
bounds = [0.0005, 0.5]
prior = {{ center = 0.01, width = 1000.0 }}
[loss]
kind = "squared"
[search]
points = 512
refine = 4
max_iters = 4000
sd_tolerance = 1e-16
seed = 3
"#
    ))
}

fn assert_recovered(c: &Calibration, truth: &ParamSet) {
    for e in c.estimates.iter().filter(|e| e.free) {
        let tie = if e.group.is_empty() {
            Tie::Global
        } else {
            Tie::Gpu
        };
        let want = truth.get(e.name, tie, &e.group);
        let error = (e.value - want).abs() / want;
        assert!(
            error < 0.02,
            "{}[{}]: fitted {} vs true {want} ({:.2} %)",
            e.name,
            e.group,
            e.value,
            100.0 * error
        );
    }
}

#[test]
fn recovers_global_parameters_from_noise_free_rows() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut truth = ParamSet::default();
    truth.serving.prefill_efficiency = rng.random_range(0.2..0.8);
    truth.serving.decode_efficiency = rng.random_range(0.3..0.9);
    truth.serving.step_overhead_s = rng.random_range(0.0005..0.005);
    truth.serving.request_overhead_s = rng.random_range(0.002..0.05);
    let rows = synthetic_rows(&truth, &["h100-sxm", "a100-sxm-80gb"], &RECOVERY_SHAPES);
    let c = run(&recovery_experiment("global"), &rows);
    assert_recovered(&c, &truth);
}

/// Random overheads and, for each of `gpus`, random prefill and decode efficiencies.
fn per_gpu_truth(seed: u64, gpus: &[&str]) -> ParamSet {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut truth = ParamSet::default();
    truth.serving.step_overhead_s = rng.random_range(0.0005..0.005);
    truth.serving.request_overhead_s = rng.random_range(0.002..0.05);
    for gpu in gpus {
        let prefill = rng.random_range(0.2..0.8);
        truth
            .set(Param::PrefillEfficiency, Tie::Gpu, gpu, prefill)
            .unwrap();
        let decode = rng.random_range(0.3..0.9);
        truth
            .set(Param::DecodeEfficiency, Tie::Gpu, gpu, decode)
            .unwrap();
    }
    truth
}

#[test]
fn recovers_per_gpu_parameters_from_noise_free_rows() {
    let gpus = ["h100-sxm", "l40s"];
    let truth = per_gpu_truth(12, &gpus);
    let rows = synthetic_rows(&truth, &gpus, &RECOVERY_SHAPES);
    let c = run(&recovery_experiment("gpu"), &rows);
    assert_recovered(&c, &truth);
}

#[test]
fn levenberg_marquardt_recovers_per_gpu_parameters_from_noise_free_rows() {
    let gpus = ["h100-sxm", "l40s", "a100-sxm-80gb"];
    let truth = per_gpu_truth(13, &gpus);
    let rows = synthetic_rows(&truth, &gpus, &RECOVERY_SHAPES);
    let mut e = recovery_experiment("gpu");
    e.search.method = RefineMethod::LevenbergMarquardt;
    e.search.refine = 2;
    let c = run(&e, &rows);
    assert_recovered(&c, &truth);
}

#[test]
fn cancellation_returns_the_best_point_so_far_marked_interrupted() {
    let cancel = AtomicBool::new(true);
    let options = Options::silent(&cancel);
    let c = calibrate(
        &shipped("serving-global"),
        &chart(),
        &Catalog::embedded().unwrap(),
        &options,
    )
    .unwrap();
    assert!(c.interrupted);
    assert!(c.loss.is_finite());
    assert!(
        c.loss < super::objective::PENALTY,
        "a cancelled grid reports the initial point's real loss, not the sentinel: {}",
        c.loss
    );
    assert!(c.grid_loss < super::objective::PENALTY, "{}", c.grid_loss);
}

#[test]
fn an_empty_filter_result_is_an_error() {
    let mut e = shipped("serving-global");
    e.filter.gpus = vec!["b200".into()];
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let err = calibrate(&e, &chart(), &Catalog::embedded().unwrap(), &options).unwrap_err();
    assert_eq!(err, FitError::NoRows);
}

#[test]
fn engine_copies_free_the_global_value_and_shrink_towards_it_but_factors_keep_the_reference_at_one()
{
    let e = experiment(
        r#"
name = "engines"
perf_model = "serving"
data = ["x.csv"]
[parameters.step_overhead_s]
mode = "free"
per = "engine"
init = 0.002
bounds = [0.0001, 0.05]
prior = { center = 0.002, width = 1.0 }
[parameters.engine_decode_factor]
mode = "free"
per = "engine"
init = 1.0
bounds = [0.2, 3.0]
prior = { center = 1.0, width = 1.0 }
"#,
    );
    let groups = |tie: Tie| match tie {
        Tie::Engine => vec![String::new(), "trtllm".into(), "vllm".into()],
        _ => vec![String::new()],
    };
    let space = ParamSpace::new(&e, &groups).unwrap();
    let copies: Vec<String> = space
        .free
        .iter()
        .map(|f| space::label(f.name, &f.group))
        .collect();
    assert_eq!(
        copies,
        [
            "engine_decode_factor[vllm]",
            "step_overhead_s",
            "step_overhead_s[trtllm]",
            "step_overhead_s[vllm]",
        ]
    );
    // An engine's copy costs nothing where it equals the global value, wherever that is.
    let mut u = space.initial();
    u[1] += 2.0;
    u[2] = u[1];
    let moved = space.prior_penalty(&u);
    u[2] += 1.0;
    assert!((space.prior_penalty(&u) - moved - 0.5).abs() < 1e-9);
    let set = space.params_at(&space.initial());
    assert!((set.serving.engine_decode_factor - 1.0).abs() < 1e-15);
}

#[test]
fn a_fit_whose_per_row_vectors_come_after_gives_the_same_calibration() {
    let catalog = Catalog::embedded().unwrap();
    let cancel = AtomicBool::new(false);
    let options = Options::silent(&cancel);
    let e = crate::experiment::shipped("serving-global", &catalog)
        .unwrap()
        .unwrap();
    let rows = load_csv(EMBEDDED_FILES[0].0, EMBEDDED_FILES[0].1, &catalog).unwrap();
    let at_once = calibrate_owned(&e, rows.clone(), &catalog, &options).unwrap();
    let seen = |c: &Calibration| (c.fits.len(), c.rows.len(), c.params.clone());
    let (after, (fits_seen, rows_seen, params_seen)) =
        calibrate_owned_then(&e, rows, &catalog, &options, seen).unwrap();
    assert_eq!((fits_seen, rows_seen), (0, at_once.rows.len()));
    assert_eq!(params_seen, at_once.params);
    let timeless = |c: &Calibration| Calibration {
        wall_time_s: 0.0,
        ..c.clone()
    };
    assert_eq!(timeless(&after), timeless(&at_once));
}
