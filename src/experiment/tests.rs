use super::*;
use crate::catalog::Catalog;

const BASE: &str = r#"
name = "t"
perf_model = "serving"
data = ["data/benchmarks/nim-sizing-rag-5000-500.csv"]

[parameters.prefill_efficiency]
mode = "free"
init = 0.5
bounds = [0.1, 0.9]
"#;

fn check(text: &str) -> Result<ValidExperiment, ExperimentError> {
    let catalog = Catalog::embedded().unwrap();
    let raw = parse("t.toml", text)?;
    validate(
        raw,
        "t.toml",
        content_hash(text.as_bytes()),
        &catalog,
        &|f| f.ends_with(".csv"),
    )
}

fn rejected(text: &str, expected: &str) {
    let err = check(text).expect_err("must be rejected");
    let line = err.to_string();
    assert!(line.contains(expected), "{line}");
    assert_eq!(line.lines().count(), 1, "one line: {line}");
}

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

#[test]
fn the_base_experiment_is_valid() {
    let e = check(BASE).unwrap();
    assert_eq!(e.free().count(), 1);
    assert_eq!(e.search.grid, GridKind::Sobol);
    assert_eq!(e.loss.kind, LossKind::Huber);
}

#[test]
fn every_shipped_experiment_is_valid() {
    let catalog = Catalog::embedded().unwrap();
    for (name, _) in EMBEDDED {
        let e = shipped(name, &catalog).unwrap().unwrap();
        assert_eq!(&e.name, name);
        let rows = crate::bench::embedded_rows(&e.data, &catalog).unwrap();
        assert!(!rows.is_empty(), "{name}: every data file is embedded");
    }
    assert!(shipped(DEFAULT_EXPERIMENT, &catalog).is_some());
    assert!(shipped("serving-imaginary", &catalog).is_none());
}

#[test]
fn rule_toml_errors_carry_line_and_column() {
    rejected("name = \"t\"\nperf_model = 3\n", "t.toml:2:");
}

#[test]
fn rule_unknown_field() {
    rejected(&with("colour = \"red\""), "colour");
}

#[test]
fn rule_name_is_a_directory_name() {
    rejected(&BASE.replace("name = \"t\"", "name = \"a b\""), "name");
}

#[test]
fn rule_unknown_perf_model() {
    rejected(&BASE.replace("\"serving\"", "\"magic\""), "magic");
}

#[test]
fn rule_empty_data() {
    rejected(
        &BASE.replace(
            "data = [\"data/benchmarks/nim-sizing-rag-5000-500.csv\"]",
            "data = []",
        ),
        "no benchmark files",
    );
}

#[test]
fn rule_unknown_file() {
    rejected(
        &BASE.replace("nim-sizing-rag-5000-500.csv", "missing.txt"),
        "missing.txt` not found",
    );
}

#[test]
fn rule_unknown_parameter_suggests_names() {
    rejected(
        &BASE.replace(
            "[parameters.prefill_efficiency]",
            "[parameters.prefill_eff]",
        ),
        "closest: prefill_efficiency",
    );
}

#[test]
fn rule_parameter_of_another_model() {
    rejected(
        &with("[parameters.efficiency]\nmode = \"fixed\"\nvalue = 0.3"),
        "not a parameter of the `serving` model",
    );
}

#[test]
fn rule_lo_below_hi() {
    rejected(
        &BASE.replace("[0.1, 0.9]", "[0.9, 0.1]"),
        "must be below hi",
    );
}

#[test]
fn rule_bounds_in_domain() {
    rejected(&BASE.replace("[0.1, 0.9]", "[0.1, 1.5]"), "in (0, 1]");
}

#[test]
fn rule_init_inside_bounds() {
    rejected(
        &BASE.replace("init = 0.5", "init = 0.95"),
        "outside the bounds",
    );
}

#[test]
fn rule_free_needs_bounds() {
    rejected(&BASE.replace("bounds = [0.1, 0.9]\n", ""), "needs `bounds");
}

#[test]
fn rule_free_needs_init() {
    rejected(&BASE.replace("init = 0.5\n", ""), "needs `init`");
}

#[test]
fn rule_free_takes_no_value() {
    rejected(
        &BASE.replace("init = 0.5", "init = 0.5\nvalue = 0.5"),
        "`value` is for fixed",
    );
}

#[test]
fn rule_fixed_needs_a_value() {
    rejected(
        &with("[parameters.tail_factor]\nmode = \"fixed\""),
        "needs `value`",
    );
}

#[test]
fn rule_fixed_value_in_domain() {
    rejected(
        &with("[parameters.link_efficiency]\nmode = \"fixed\"\nvalue = 2.0"),
        "link_efficiency.value",
    );
}

#[test]
fn rule_mode_is_free_or_fixed() {
    rejected(
        &BASE.replace("mode = \"free\"", "mode = \"loose\""),
        "expected `free` or `fixed`",
    );
}

#[test]
fn rule_only_efficiencies_tie() {
    rejected(
        &with("[parameters.tail_factor]\nmode = \"fixed\"\nvalue = 2.0\nper = \"gpu\""),
        "cannot be tied",
    );
}

#[test]
fn rule_prior_width_positive() {
    rejected(
        &BASE.replace(
            "bounds = [0.1, 0.9]",
            "bounds = [0.1, 0.9]\nprior = { center = 0.5, width = 0 }",
        ),
        "prior.width",
    );
}

#[test]
fn rule_prior_center_inside_bounds() {
    rejected(
        &BASE.replace(
            "bounds = [0.1, 0.9]",
            "bounds = [0.1, 0.9]\nprior = { center = 0.95, width = 1 }",
        ),
        "prior.center",
    );
}

#[test]
fn rule_something_is_free() {
    rejected(
        &BASE.replace(
            "mode = \"free\"\ninit = 0.5\nbounds = [0.1, 0.9]",
            "mode = \"fixed\"\nvalue = 0.5",
        ),
        "no free parameter",
    );
}

#[test]
fn rule_loss_kind() {
    rejected(&with("[loss]\nkind = \"l1\""), "loss.kind");
}

#[test]
fn rule_loss_scale_positive() {
    rejected(&with("[loss]\nscale = 0"), "loss.scale");
}

#[test]
fn rule_na_policy() {
    rejected(&with("[loss]\nna = \"drop\""), "loss.na");
}

#[test]
fn rule_weights_name_metrics() {
    rejected(
        &with("[loss]\nmetric_weights = { speed = 1.0 }"),
        "unknown metric `speed`",
    );
}

#[test]
fn rule_weights_non_negative() {
    rejected(
        &with("[loss]\nsource_weights = { chart = -1.0 }"),
        "source_weights.chart",
    );
}

#[test]
fn rule_grid_kind() {
    rejected(&with("[search]\ngrid = \"random\""), "search.grid");
}

#[test]
fn rule_cartesian_at_most_three() {
    let four = "[parameters.decode_efficiency]\nmode = \"free\"\ninit = 0.5\nbounds = [0.1, 0.9]\n\
                [parameters.link_efficiency]\nmode = \"free\"\ninit = 0.5\nbounds = [0.1, 0.9]\n\
                [parameters.memory_utilization]\nmode = \"free\"\ninit = 0.5\nbounds = [0.1, 0.9]\n\
                [search]\ngrid = \"cartesian\"";
    rejected(&with(four), "at most 3");
}

#[test]
fn rule_refine_method_known() {
    rejected(&with("[search]\nmethod = \"newton\""), "search.method");
    rejected(
        &with("[search]\nmethod = \"newton\""),
        "levenberg-marquardt",
    );
}

#[test]
fn rule_points_positive() {
    rejected(&with("[search]\npoints = 0"), "search.points");
}

#[test]
fn rule_refine_within_points() {
    rejected(&with("[search]\npoints = 4\nrefine = 5"), "search.refine");
}

#[test]
fn rule_max_iters_positive() {
    rejected(&with("[search]\nmax_iters = 0"), "search.max_iters");
}

#[test]
fn rule_tolerance_positive() {
    rejected(&with("[search]\nsd_tolerance = 0.0"), "sd_tolerance");
}

#[test]
fn rule_simplex_step_positive() {
    rejected(&with("[search]\nsimplex_step = -1.0"), "simplex_step");
}

#[test]
fn rule_assumption_gpu_known() {
    rejected(
        &with("[assumptions.precision]\n\"H100 SXM9\" = \"fp8\""),
        "closest: h100-sxm",
    );
}

#[test]
fn rule_assumption_precision_known() {
    rejected(
        &with("[assumptions.precision]\nl40s = [\"fp8\", \"fp7\"]"),
        "unknown precision `fp7`",
    );
}

#[test]
fn rule_assumption_tp_range() {
    rejected(
        &with("[assumptions.tp]\n\"llama-3.1-70b\" = [0]"),
        "TP degree",
    );
}

#[test]
fn rule_assumption_no_duplicates() {
    rejected(
        &with("[assumptions.tp]\n\"llama-3.1-70b\" = [4, 4]"),
        "listed twice",
    );
}

#[test]
fn rule_hypotheses_bounded() {
    let many = "[assumptions.precision]\nh100-sxm = [\"fp8\", \"fp16\", \"int8\", \"int4\"]\nl40s = [\"fp8\", \"fp16\", \"int8\", \"int4\"]\n\
                [assumptions.tp]\n\"llama-3.1-70b\" = [\"auto\", 2, 4, 8, 16]";
    rejected(&with(many), "hypothesis combinations");
}

#[test]
fn rule_filter_names_known() {
    rejected(
        &with("[filter]\ngpus = [\"h100-sxm\", \"z100\"]"),
        "filter.gpus",
    );
    rejected(&with("[filter]\nmetrics = [\"qps\"]"), "filter.metrics");
}

#[test]
fn hashes_are_stable_and_sensitive() {
    assert_eq!(content_hash(b"abc"), content_hash(b"abc"));
    assert_ne!(content_hash(b"abc"), content_hash(b"abd"));
    assert_eq!(content_hash(b""), "fnv1a64:cbf29ce484222325");
}

#[test]
fn rule_sweep_levels_positive() {
    rejected(
        &with("[assumptions]\nconcurrency_sweep = [0, 1]"),
        "concurrency_sweep",
    );
}

#[test]
fn rule_points_bounded_by_memory() {
    rejected(
        &with("[search]\ngrid = \"lhs\"\npoints = 1000000000000"),
        "search.points",
    );
}

#[test]
fn rule_restarts_bounded() {
    rejected(&with("[search]\nrestarts = 100000"), "search.restarts");
}

fn chart_rows() -> Vec<crate::bench::BenchRow> {
    let catalog = Catalog::embedded().unwrap();
    let (name, text) = crate::bench::EMBEDDED_FILES[0];
    crate::bench::load_csv(name, text, &catalog).unwrap()
}

#[test]
fn rule_source_weights_name_sources_of_the_data() {
    let e = check(&with("[loss]\nsource_weights = { nim-sizing-chrt = 2.0 }")).unwrap();
    let err = e.check_rows(&chart_rows()).unwrap_err().to_string();
    assert!(
        err.contains("nim-sizing-chrt") && err.contains("closest: nim-sizing-chart"),
        "{err}"
    );
}

#[test]
fn rule_filter_sources_name_sources_of_the_data() {
    let e = check(&with("[filter]\nsources = [\"nim\"]")).unwrap();
    let err = e.check_rows(&chart_rows()).unwrap_err().to_string();
    assert!(err.contains("filter.sources"), "{err}");
}

#[test]
fn rule_some_row_keeps_a_positive_weight() {
    let e = check(&with("[loss]\nsource_weights = { nim-sizing-chart = 0.0 }")).unwrap();
    let err = e.check_rows(&chart_rows()).unwrap_err().to_string();
    assert!(err.contains("weight 0"), "{err}");
    check(BASE).unwrap().check_rows(&chart_rows()).unwrap();
}
