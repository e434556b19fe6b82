//! `check` on large policies. The baseline is parsing the same text into a plain TOML table,
//! which any reader of the file must do; the ratio shows what validation and lints add.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "support/large_policy.rs"]
mod large_policy;

fn check(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_check");
    group.sample_size(20);
    for activities in [500, 5000] {
        let source = large_policy::generate(activities);
        let checked = ombud_policy::check(&source);
        assert!(
            checked.findings.is_empty(),
            "the benchmark policy is clean: {:?}",
            checked.findings.first()
        );
        group.bench_with_input(
            BenchmarkId::new("toml_parse_baseline", activities),
            &source,
            |b, source| {
                b.iter(|| black_box(toml::from_str::<toml::Table>(source).map(|t| t.len())))
            },
        );
        group.bench_with_input(
            BenchmarkId::new("check", activities),
            &source,
            |b, source| b.iter(|| black_box(ombud_policy::check(source).findings.len())),
        );
    }
    group.finish();

    let source = large_policy::generate(5000);
    let policy = ombud_policy::check(&source).policy.expect("clean");
    let mut group = c.benchmark_group("policy_render_5000");
    group.sample_size(10);
    group.bench_function("html", |b| {
        b.iter(|| black_box(ombud_policy::render::html(&policy).len()))
    });
    group.bench_function("ropa_csv", |b| {
        b.iter(|| black_box(ombud_policy::render::ropa_csv(&policy).len()))
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
