//! The attribute's arguments: `schedules = N, strategy = "pct", expect = [..]`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Token};

/// The finding kinds, as `goro::race::FindingKind` names them in JSON. The
/// macro cannot depend on goro, so the list is repeated here; a test in
/// goro-tests checks it against `FindingKind::ALL`.
pub const KINDS: [&str; 9] = [
    "data-race",
    "goroutine-leak",
    "deadlock",
    "lock-order-inversion",
    "send-on-closed",
    "double-close",
    "lost-cancel",
    "waitgroup-misuse",
    "panic",
];

const NAMES: [&str; 10] = [
    "schedules",
    "seed",
    "strategy",
    "depth",
    "preemptions",
    "require_complete",
    "dpor",
    "max_steps",
    "expect",
    "allow",
];

/// One `name = value`, unvalidated.
struct RawArg {
    name: Ident,
    value: Expr,
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `parse_any`: a keyword in name position is an unknown argument,
        // reported as such rather than as a parse error.
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected `name = value`, e.g. `schedules = 500`"));
        }
        let name = input.call(Ident::parse_any)?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("expected `{name} = value`"),
            ));
        }
        let eq = input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                eq.span,
                format!("expected a value after `{name} =`"),
            ));
        }
        let value = input.parse()?;
        Ok(RawArg { name, value })
    }
}

/// The validated arguments of a test.
#[derive(Debug, Default)]
pub struct TestArgs {
    pub schedules: Option<u32>,
    pub seed: Option<u64>,
    pub strategy: Option<String>,
    pub depth: Option<u32>,
    pub preemptions: Option<u32>,
    pub require_complete: bool,
    /// `dpor = false`: the exhaustive search without partial-order
    /// reduction.
    pub dpor: Option<bool>,
    pub max_steps: Option<u64>,
    pub expect: Vec<String>,
    pub allow: Vec<String>,
    /// Each given argument's name and span, for errors on non-test items.
    pub given: Vec<Ident>,
}

impl TestArgs {
    /// The fields of `goro::race::testing::TestSpec` they set.
    pub fn spec_fields(&self) -> TokenStream {
        fn opt<T: ToTokens>(v: &Option<T>) -> TokenStream {
            match v {
                Some(v) => quote!(::core::option::Option::Some(#v)),
                None => quote!(::core::option::Option::None),
            }
        }
        let schedules = opt(&self.schedules);
        let seed = opt(&self.seed);
        let strategy = opt(&self.strategy);
        let depth = opt(&self.depth);
        let preemptions = opt(&self.preemptions);
        let require_complete = self.require_complete;
        let dpor = opt(&self.dpor);
        let max_steps = opt(&self.max_steps);
        let expect = &self.expect;
        let allow = &self.allow;
        quote! {
            schedules: #schedules,
            seed: #seed,
            strategy: #strategy,
            depth: #depth,
            preemptions: #preemptions,
            require_complete: #require_complete,
            dpor: #dpor,
            max_steps: #max_steps,
            expect: &[#(#expect),*],
            allow: &[#(#allow),*],
        }
    }
}

/// Parses and validates the arguments; every problem found is returned, so
/// that one compile shows them all.
pub fn parse(attr: TokenStream) -> Result<TestArgs, syn::Error> {
    let raw = Punctuated::<RawArg, Token![,]>::parse_terminated.parse2(attr)?;
    let mut args = TestArgs::default();
    let mut errors = Errors::default();
    let mut strategy_lit: Option<LitStr> = None;
    let mut depth_name: Option<Ident> = None;
    let mut preemptions_name: Option<Ident> = None;
    let mut complete_name: Option<Ident> = None;
    let mut dpor_name: Option<Ident> = None;
    let mut expect_lits: Vec<LitStr> = Vec::new();
    let mut allow_lits: Vec<LitStr> = Vec::new();
    for arg in raw {
        let key = arg.name.to_string();
        if args.given.iter().any(|g| *g == key) {
            errors.push(syn::Error::new(
                arg.name.span(),
                format!("duplicate argument `{key}`"),
            ));
            continue;
        }
        match key.as_str() {
            "schedules" => args.schedules = errors.ok(int(&arg, "schedules = 500")),
            "seed" => args.seed = errors.ok(int(&arg, "seed = 7")),
            "depth" => {
                args.depth = errors.ok(int(&arg, "depth = 3"));
                depth_name = Some(arg.name.clone());
            }
            "max_steps" => args.max_steps = errors.ok(int(&arg, "max_steps = 100000")),
            "preemptions" => {
                args.preemptions = errors.ok(int(&arg, "preemptions = 2"));
                preemptions_name = Some(arg.name.clone());
            }
            "require_complete" => {
                if let Some(b) = errors.ok(boolean(&arg, "require_complete = true")) {
                    args.require_complete = b;
                    complete_name = Some(arg.name.clone());
                }
            }
            "dpor" => {
                if let Some(b) = errors.ok(boolean(&arg, "dpor = false")) {
                    args.dpor = Some(b);
                    dpor_name = Some(arg.name.clone());
                }
            }
            "strategy" => {
                if let Some(lit) = errors.ok(string(&arg, "strategy = \"pct\"")) {
                    match lit.value().as_str() {
                        "portfolio" | "random" | "pct" | "exhaustive" => {
                            args.strategy = Some(lit.value());
                            strategy_lit = Some(lit);
                        }
                        other => errors.push(syn::Error::new(
                            lit.span(),
                            format!(
                                "unknown strategy `{other}`; expected \"portfolio\", \"random\", \
                                 \"pct\" or \"exhaustive\" (set the PCT depth with `depth = N`)"
                            ),
                        )),
                    }
                }
            }
            "expect" | "allow" => {
                if let Some(lits) = errors.ok(kind_list(&arg)) {
                    for lit in lits {
                        match check_kind(&lit) {
                            Ok(()) if key == "expect" => expect_lits.push(lit),
                            Ok(()) => allow_lits.push(lit),
                            Err(e) => errors.push(e),
                        }
                    }
                }
            }
            _ => errors.push(unknown_argument(&arg.name)),
        }
        args.given.push(arg.name);
    }
    for (name, value) in [
        ("schedules", args.schedules.map(u64::from)),
        ("depth", args.depth.map(u64::from)),
        ("max_steps", args.max_steps),
    ] {
        if value == Some(0) {
            let ident = args.given.iter().find(|g| *g == name);
            let span = ident.map_or_else(Span::call_site, Ident::span);
            errors.push(syn::Error::new(
                span,
                format!("`{name}` must be at least 1"),
            ));
        }
    }
    let strategy = strategy_lit.as_ref().map(LitStr::value);
    let exhaustive = strategy.as_deref() == Some("exhaustive");
    for (name, what) in [
        (&preemptions_name, "preemptions"),
        (&complete_name, "require_complete"),
        (&dpor_name, "dpor"),
    ] {
        if let (Some(name), Some(s)) = (name, strategy.as_deref()) {
            if !exhaustive {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`{what}` applies to `strategy = \"exhaustive\"`, not \"{s}\""),
                ));
            }
        }
    }
    for (name, what) in [(&complete_name, "require_complete"), (&dpor_name, "dpor")] {
        if let (Some(name), None, None) = (name, &strategy, &preemptions_name) {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "`{what}` applies to the exhaustive strategy: add \
                     `strategy = \"exhaustive\"` (or `preemptions = N`)"
                ),
            ));
        }
    }
    if let (Some(_), Some(depth)) = (&preemptions_name, &depth_name) {
        errors.push(syn::Error::new(
            depth.span(),
            "`depth` applies to `strategy = \"pct\"`; `preemptions` asks for the exhaustive \
             strategy",
        ));
    }
    if let (Some(lit), Some(depth)) = (&strategy_lit, &depth_name) {
        if lit.value() != "pct" {
            errors.push(syn::Error::new(
                depth.span(),
                format!(
                    "`depth` applies to `strategy = \"pct\"`, not \"{}\"",
                    lit.value()
                ),
            ));
        }
    }
    for lit in &allow_lits {
        if expect_lits.iter().any(|e| e.value() == lit.value()) {
            errors.push(syn::Error::new(
                lit.span(),
                format!(
                    "`{}` is both expected and allowed; `expect` already accepts it",
                    lit.value()
                ),
            ));
        }
    }
    for (lits, out) in [
        (&expect_lits, &mut args.expect),
        (&allow_lits, &mut args.allow),
    ] {
        for lit in lits {
            if !out.contains(&lit.value()) {
                out.push(lit.value());
            }
        }
    }
    errors.finish()?;
    Ok(args)
}

/// Several errors, combined into one `syn::Error`.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn ok<T>(&mut self, r: syn::Result<T>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn int<N>(arg: &RawArg, example: &str) -> syn::Result<N>
where
    N: std::str::FromStr,
    N::Err: std::fmt::Display,
{
    match &arg.value {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i.base10_parse().map_err(|e| {
                syn::Error::new(i.span(), format!("`{}` is out of range: {e}", arg.name))
            }),
            _ => Err(wrong_type(arg, "a whole number", example)),
        },
        _ => Err(wrong_type(arg, "a whole number", example)),
    }
}

fn boolean(arg: &RawArg, example: &str) -> syn::Result<bool> {
    match &arg.value {
        Expr::Lit(l) => match &l.lit {
            Lit::Bool(b) => Ok(b.value),
            _ => Err(wrong_type(arg, "`true` or `false`", example)),
        },
        _ => Err(wrong_type(arg, "`true` or `false`", example)),
    }
}

fn string(arg: &RawArg, example: &str) -> syn::Result<LitStr> {
    match &arg.value {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Ok(s.clone()),
            _ => Err(wrong_type(arg, "a string", example)),
        },
        _ => Err(wrong_type(arg, "a string", example)),
    }
}

/// `"kind"` or `["kind", ..]`.
fn kind_list(arg: &RawArg) -> syn::Result<Vec<LitStr>> {
    let example = format!(
        "{} = \"data-race\"` or `{} = [\"data-race\", \"deadlock\"]",
        arg.name, arg.name
    );
    let one = |e: &Expr| match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    };
    match &arg.value {
        Expr::Array(a) => a
            .elems
            .iter()
            .map(|e| {
                one(e).ok_or_else(|| {
                    syn::Error::new(
                        e.span(),
                        format!(
                            "`{}` lists finding kinds as strings, e.g. `{example}`",
                            arg.name
                        ),
                    )
                })
            })
            .collect(),
        e => one(e)
            .map(|s| vec![s])
            .ok_or_else(|| wrong_type(arg, "a finding kind or a list of them", &example)),
    }
}

fn wrong_type(arg: &RawArg, what: &str, example: &str) -> syn::Error {
    syn::Error::new_spanned(
        &arg.value,
        format!("`{}` expects {what}, e.g. `{example}`", arg.name),
    )
}

fn check_kind(lit: &LitStr) -> syn::Result<()> {
    let v = lit.value();
    if KINDS.contains(&v.as_str()) {
        return Ok(());
    }
    let normalized = v.trim().to_lowercase().replace(['_', ' '], "-");
    let hint = KINDS
        .iter()
        .find(|k| **k == normalized || (normalized.len() >= 4 && k.starts_with(&normalized)))
        .map(|k| format!("\n\nhelp: did you mean `{k}`?"))
        .unwrap_or_default();
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown finding kind `{v}`; expected one of: {}{hint}",
            KINDS.join(", ")
        ),
    ))
}

fn unknown_argument(name: &Ident) -> syn::Error {
    let n = name.to_string();
    let hint = NAMES
        .iter()
        .filter(|k| distance(&n, k) <= 2)
        .min_by_key(|k| distance(&n, k))
        .map(|k| format!("\n\nhelp: did you mean `{k}`?"))
        .unwrap_or_default();
    syn::Error::new(
        name.span(),
        format!(
            "unknown argument `{n}`; expected one of: {}{hint}",
            NAMES.join(", ")
        ),
    )
}

/// Levenshtein distance, for "did you mean" on short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_argument() {
        let a = parse(quote!(
            schedules = 500,
            seed = 7,
            strategy = "pct",
            depth = 2,
            max_steps = 10,
            expect = "data-race",
            allow = ["deadlock", "panic"]
        ))
        .unwrap();
        assert_eq!(a.schedules, Some(500));
        assert_eq!(a.seed, Some(7));
        assert_eq!(a.strategy.as_deref(), Some("pct"));
        assert_eq!(a.depth, Some(2));
        assert_eq!(a.max_steps, Some(10));
        assert_eq!(a.expect, ["data-race"]);
        assert_eq!(a.allow, ["deadlock", "panic"]);
    }

    #[test]
    fn reports_every_error_at_once() {
        let e = parse(quote!(schedule = 5, seed = "x", expect = "race_data")).unwrap_err();
        let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("did you mean `schedules`"), "{msgs:?}");
        assert!(msgs[1].contains("expects a whole number"), "{msgs:?}");
        assert!(
            msgs[2].starts_with("unknown finding kind `race_data`"),
            "{msgs:?}"
        );
    }

    #[test]
    fn parses_the_exhaustive_arguments() {
        let a = parse(quote!(
            strategy = "exhaustive",
            preemptions = 2,
            require_complete = true,
            dpor = false
        ))
        .unwrap();
        assert_eq!(a.strategy.as_deref(), Some("exhaustive"));
        assert_eq!(a.preemptions, Some(2));
        assert!(a.require_complete);
        assert_eq!(a.dpor, Some(false));
        assert_eq!(parse(quote!(preemptions = 1)).unwrap().dpor, None);
        let bounded = parse(quote!(preemptions = 0, require_complete = true)).unwrap();
        assert_eq!(bounded.preemptions, Some(0));
    }

    #[test]
    fn suggests_the_kebab_case_kind() {
        let e = parse(quote!(expect = "goroutine_leak")).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `goroutine-leak`"),
            "{e}"
        );
    }

    #[test]
    fn rejects_duplicates_zeros_and_contradictions() {
        for (args, msg) in [
            (quote!(seed = 1, seed = 2), "duplicate argument `seed`"),
            (quote!(schedules = 0), "`schedules` must be at least 1"),
            (quote!(strategy = "random", depth = 2), "`depth` applies to"),
            (
                quote!(expect = "panic", allow = ["panic"]),
                "both expected and allowed",
            ),
            (quote!(strategy = "fifo"), "unknown strategy `fifo`"),
            (
                quote!(strategy = "pct", preemptions = 2),
                "`preemptions` applies to `strategy = \"exhaustive\"`, not \"pct\"",
            ),
            (
                quote!(require_complete = true),
                "`require_complete` applies to the exhaustive strategy",
            ),
            (
                quote!(strategy = "exhaustive", require_complete = 1),
                "`require_complete` expects `true` or `false`",
            ),
            (
                quote!(strategy = "exhaustive", dpor = "off"),
                "`dpor` expects `true` or `false`, e.g. `dpor = false`",
            ),
            (
                quote!(strategy = "random", dpor = false),
                "`dpor` applies to `strategy = \"exhaustive\"`, not \"random\"",
            ),
            (
                quote!(dpor = false),
                "`dpor` applies to the exhaustive strategy",
            ),
            (quote!(preemptions = 1, depth = 2), "`depth` applies to"),
            (quote!(schedules = 99999999999), "out of range"),
            (quote!(500), "expected `name = value`"),
            (quote!(schedules =), "expected a value after `schedules =`"),
            (
                quote!(seed = , schedules = 1),
                "expected a value after `seed =`",
            ),
        ] {
            let e = parse(args).unwrap_err().to_string();
            assert!(e.contains(msg), "{e} should contain {msg}");
        }
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("schedule", "schedules"), 1);
        assert_eq!(distance("maxsteps", "max_steps"), 1);
        assert_eq!(distance("abc", "abc"), 0);
    }
}
