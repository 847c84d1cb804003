//! Expanding the attribute on each kind of item.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, FnArg, ImplItem, Item, ItemFn, ItemImpl, ItemMod, LitStr, ReturnType,
    Signature, Stmt, Type, UseTree,
};

use crate::access::Tracker;
use crate::args::{self, Errors, TestArgs};
use crate::lostcancel;

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `#[goro::instrument]`: a test when `#[test]` follows.
    Instrument,
    /// `#[goro::test]`: always a test.
    Test,
}

/// The names a function body sees from its module.
#[derive(Clone, Default)]
struct Scope {
    /// `static mut` items of the module.
    statics: HashSet<String>,
    /// Every other name the module declares or imports.
    others: HashSet<String>,
}

pub fn expand(attr: TokenStream, input: TokenStream, mode: Mode) -> TokenStream {
    let item: Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => return with_errors(e, input),
    };
    let args = match args::parse(attr) {
        Ok(args) => args,
        Err(e) => return with_errors(e, fallback(item)),
    };
    let mut errors = Errors::default();
    let mut item = item;
    repeated_goro_attrs(&mut item, mode, &mut errors);
    let out = match (mode, item) {
        (Mode::Test, Item::Fn(f)) => test_fn(&args, f, mode, &Scope::default(), &mut errors),
        (Mode::Test, item) => {
            errors.push(syn::Error::new_spanned(
                item_head(&item),
                "`#[goro::test]` applies to an `async fn` test, with no parameters",
            ));
            item.into_token_stream()
        }
        (Mode::Instrument, Item::Fn(f)) if is_test(&f) => {
            test_fn(&args, f, mode, &Scope::default(), &mut errors)
        }
        (Mode::Instrument, item) => {
            no_test_args(&args, &mut errors);
            instrument_item(item, &Scope::default(), &mut errors)
        }
    };
    match errors.finish() {
        Ok(()) => out,
        Err(e) => with_errors(e, out),
    }
}

/// The errors, and the item they are about so that its other uses still
/// resolve (no cascade of "cannot find function" errors).
fn with_errors(e: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = e.to_compile_error();
    out.extend(item);
    out
}

/// An item that failed to expand, emitted so that nothing else breaks: a
/// failed test loses `#[test]` (rustc would add "async functions cannot be
/// used for tests") and is allowed to be unused.
fn fallback(item: Item) -> TokenStream {
    match item {
        Item::Fn(mut f) => {
            f.attrs
                .retain(|a| !is_test_attr(a) && !is_other_test_attr(a));
            quote!(#[allow(dead_code)] #f)
        }
        item => item.into_token_stream(),
    }
}

fn path_is(attr: &Attribute, names: &[&str]) -> bool {
    let p = attr.path();
    p.segments.len() == names.len() && p.segments.iter().zip(names).all(|(s, n)| s.ident == n)
}

fn is_test_attr(attr: &Attribute) -> bool {
    let p = attr.path();
    path_is(attr, &["test"])
        || (p.segments.len() > 1
            && p.segments.last().is_some_and(|s| s.ident == "test")
            && !is_other_test_attr(attr))
}

/// `#[tokio::test]` and the like: another runtime's test attribute (not
/// `#[core::prelude::v1::test]`, the built-in one by its full path).
fn is_other_test_attr(attr: &Attribute) -> bool {
    let p = attr.path();
    let builtin = p
        .segments
        .first()
        .is_some_and(|s| s.ident == "core" || s.ident == "std");
    !builtin && p.segments.len() > 1 && p.segments.last().is_some_and(|s| s.ident == "test")
}

/// Whether `#[goro::instrument]` above `f` makes it a test: `#[test]`, or
/// another runtime's test attribute (an error in `test_fn`: both would run
/// the body).
fn is_test(f: &ItemFn) -> bool {
    f.attrs
        .iter()
        .any(|a| is_test_attr(a) || is_other_test_attr(a))
}

fn attribute_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Instrument => "`#[goro::instrument]`",
        Mode::Test => "`#[goro::test]`",
    }
}

/// A second `#[goro::instrument]` or `#[goro::test]` on the item being
/// expanded: an error, and removed, so that the item is not expanded twice
/// (two frames per call, every lint error twice, a test wrapped again).
fn repeated_goro_attrs(item: &mut Item, mode: Mode, errors: &mut Errors) {
    let attrs = match item {
        Item::Fn(f) => &mut f.attrs,
        Item::Impl(i) => &mut i.attrs,
        Item::Mod(m) => &mut m.attrs,
        _ => return,
    };
    while let Some((at, other)) = goro_attr(attrs) {
        let attr = attrs.remove(at);
        let msg = if other == mode {
            format!("{} is applied twice: remove this one", attribute_name(mode))
        } else {
            format!(
                "{} and {} both apply here: keep one (`#[goro::test]` is \
                 `#[goro::instrument]` plus `#[test]`)",
                attribute_name(mode),
                attribute_name(other)
            )
        };
        errors.push(syn::Error::new_spanned(attr, msg));
    }
}

/// `#[goro::instrument]` or `#[goro::test]` on an item inside an
/// instrumented impl block or module: expanded here, with the module's
/// statics, instead of on its own.
fn goro_attr(attrs: &[Attribute]) -> Option<(usize, Mode)> {
    attrs.iter().enumerate().find_map(|(i, a)| {
        if path_is(a, &["goro", "instrument"]) {
            Some((i, Mode::Instrument))
        } else if path_is(a, &["goro", "test"]) {
            Some((i, Mode::Test))
        } else {
            None
        }
    })
}

fn attr_args(attr: &Attribute) -> syn::Result<TestArgs> {
    match &attr.meta {
        syn::Meta::Path(_) => Ok(TestArgs::default()),
        syn::Meta::List(l) => args::parse(l.tokens.clone()),
        syn::Meta::NameValue(nv) => Err(syn::Error::new_spanned(
            nv,
            "expected `#[goro::instrument]` or `#[goro::instrument(name = value, ..)]`",
        )),
    }
}

fn no_test_args(args: &TestArgs, errors: &mut Errors) {
    for name in &args.given {
        errors.push(syn::Error::new(
            name.span(),
            format!(
                "`{name}` is a test argument, but this is not a test\n\n\
                 help: put `#[test]` on an `async fn` below `#[goro::instrument(..)]`, \
                 or use `#[goro::test(..)]`"
            ),
        ));
    }
}

/// What an item is, for spanning errors: its keyword and name
/// (`new_spanned` covers the first through the last token).
fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => head(&i.struct_token, &i.ident),
        Item::Enum(i) => head(&i.enum_token, &i.ident),
        Item::Union(i) => head(&i.union_token, &i.ident),
        Item::Trait(i) => head(&i.trait_token, &i.ident),
        Item::Const(i) => head(&i.const_token, &i.ident),
        Item::Static(i) => head(&i.static_token, &i.ident),
        Item::Type(i) => head(&i.type_token, &i.ident),
        Item::Mod(i) => head(&i.mod_token, &i.ident),
        Item::Impl(i) => {
            let t = &i.impl_token;
            let ty = &i.self_ty;
            quote!(#t #ty)
        }
        Item::Fn(i) => head(&i.sig.fn_token, &i.sig.ident),
        other => other.to_token_stream(),
    }
}

fn head(keyword: &dyn ToTokens, name: &syn::Ident) -> TokenStream {
    quote!(#keyword #name)
}

fn kind_name(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Union(_) => "a union",
        Item::Const(_) => "a constant",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Use(_) => "a `use` item",
        Item::ExternCrate(_) => "an `extern crate` item",
        Item::ForeignMod(_) => "an `extern` block",
        Item::Macro(_) => "a macro",
        Item::TraitAlias(_) => "a trait alias",
        _ => "this item",
    }
}

fn instrument_item(item: Item, scope: &Scope, errors: &mut Errors) -> TokenStream {
    match item {
        Item::Fn(mut f) => {
            if let Some(c) = &f.sig.constness {
                errors.push(syn::Error::new_spanned(
                    head(c, &f.sig.ident),
                    "`#[goro::instrument]` cannot instrument a `const fn`: its call frame and \
                     tracked accesses happen at run time",
                ));
                return f.into_token_stream();
            }
            let name = unraw(&f.sig.ident);
            instrument_fn(&f.sig.clone(), &mut f.block, &name, scope, errors);
            f.into_token_stream()
        }
        Item::Impl(i) => instrument_impl(i, scope, errors).into_token_stream(),
        Item::Mod(m) => match m.content {
            Some(_) => instrument_mod(m, errors).into_token_stream(),
            None => {
                errors.push(syn::Error::new_spanned(
                    head(&m.mod_token, &m.ident),
                    "`#[goro::instrument]` on a module needs its items inline: `mod name { .. }`",
                ));
                m.into_token_stream()
            }
        },
        Item::Trait(t) => {
            errors.push(syn::Error::new_spanned(
                head(&t.trait_token, &t.ident),
                "`#[goro::instrument]` cannot instrument a trait definition\n\n\
                 help: put it on the trait's impl blocks, or on a method that has a body",
            ));
            t.into_token_stream()
        }
        Item::Verbatim(v) => {
            errors.push(syn::Error::new_spanned(
                &v,
                "`#[goro::instrument]` applies to functions with a body, methods, impl blocks \
                 and inline modules",
            ));
            v
        }
        other => {
            errors.push(syn::Error::new_spanned(
                item_head(&other),
                format!(
                    "`#[goro::instrument]` applies to functions, methods, impl blocks and inline \
                     modules, not to {}",
                    kind_name(&other)
                ),
            ));
            other.into_token_stream()
        }
    }
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// `Type` or `<Type as Trait>`, as the frame names a method's type.
fn type_name(i: &ItemImpl) -> String {
    fn ty(t: &Type) -> String {
        match t {
            Type::Path(p) if p.qself.is_none() => p
                .path
                .segments
                .last()
                .map(|s| unraw(&s.ident))
                .unwrap_or_default(),
            Type::Reference(r) => format!(
                "&{}{}",
                if r.mutability.is_some() { "mut " } else { "" },
                ty(&r.elem)
            ),
            other => other.to_token_stream().to_string().replace(' ', ""),
        }
    }
    let self_ty = ty(&i.self_ty);
    match &i.trait_ {
        Some((path, _)) => format!(
            "<{self_ty} as {}>",
            path.segments
                .last()
                .map(|s| unraw(&s.ident))
                .unwrap_or_default()
        ),
        None => self_ty,
    }
}

fn instrument_impl(mut i: ItemImpl, scope: &Scope, errors: &mut Errors) -> ItemImpl {
    let ty = type_name(&i);
    for item in &mut i.items {
        let ImplItem::Fn(f) = item else { continue };
        if let Some((at, _)) = goro_attr(&f.attrs) {
            // The impl's attribute covers the method; its own may not carry
            // test arguments.
            let attr = f.attrs.remove(at);
            match attr_args(&attr) {
                Ok(args) => no_test_args(&args, errors),
                Err(e) => errors.push(e),
            }
        }
        if f.sig.constness.is_some() {
            continue;
        }
        let path = format!("{ty}::{}", unraw(&f.sig.ident));
        let sig = f.sig.clone();
        instrument_fn(&sig, &mut f.block, &path, scope, errors);
    }
    i
}

fn instrument_mod(mut m: ItemMod, errors: &mut Errors) -> ItemMod {
    let Some((_, items)) = &mut m.content else {
        return m;
    };
    let mut scope = Scope::default();
    for item in items.iter() {
        match item {
            Item::Static(s) if matches!(s.mutability, syn::StaticMutability::Mut(_)) => {
                scope.statics.insert(s.ident.to_string());
            }
            other => declared_names(other, &mut scope.others),
        }
    }
    let taken = std::mem::take(items);
    for item in taken {
        let expanded = mod_item(item, &scope, errors);
        // Items are re-parsed from tokens: a test expands to a new fn.
        match syn::parse2::<syn::File>(expanded.clone()) {
            Ok(file) => items.extend(file.items),
            Err(_) => items.push(Item::Verbatim(expanded)),
        }
    }
    m
}

fn mod_item(mut item: Item, scope: &Scope, errors: &mut Errors) -> TokenStream {
    let own = match &mut item {
        Item::Fn(f) => goro_attr(&f.attrs).map(|(at, mode)| (f.attrs.remove(at), mode)),
        Item::Impl(i) => goro_attr(&i.attrs).map(|(at, mode)| (i.attrs.remove(at), mode)),
        Item::Mod(m) => goro_attr(&m.attrs).map(|(at, mode)| (m.attrs.remove(at), mode)),
        _ => None,
    };
    let args = match &own {
        Some((attr, _)) => match attr_args(attr) {
            Ok(args) => args,
            Err(e) => {
                errors.push(e);
                TestArgs::default()
            }
        },
        None => TestArgs::default(),
    };
    let has_own = own.is_some();
    let mode = own.map_or(Mode::Instrument, |(_, mode)| mode);
    match item {
        Item::Fn(f) if mode == Mode::Test || (has_own && is_test(&f)) => {
            test_fn(&args, f, mode, scope, errors)
        }
        // Without an attribute of its own, an `async` `#[test]` becomes a
        // goro test (it could not run otherwise); a sync one, or another
        // runtime's test, stays what it is (with a frame).
        Item::Fn(f) if f.sig.asyncness.is_some() && f.attrs.iter().any(is_test_attr) => {
            test_fn(&args, f, mode, scope, errors)
        }
        Item::Fn(f) if f.sig.constness.is_some() => f.into_token_stream(),
        item @ (Item::Fn(_) | Item::Impl(_) | Item::Mod(_)) => {
            no_test_args(&args, errors);
            instrument_item(item, scope, errors)
        }
        other => other.into_token_stream(),
    }
}

/// The names an item declares in its module (other than `static mut`).
fn declared_names(item: &Item, out: &mut HashSet<String>) {
    fn use_tree(t: &UseTree, out: &mut HashSet<String>) {
        match t {
            UseTree::Path(p) => use_tree(&p.tree, out),
            UseTree::Name(n) => {
                out.insert(n.ident.to_string());
            }
            UseTree::Rename(r) => {
                out.insert(r.rename.to_string());
            }
            UseTree::Glob(_) => {}
            UseTree::Group(g) => g.items.iter().for_each(|t| use_tree(t, out)),
        }
    }
    let ident = match item {
        Item::Const(i) => Some(&i.ident),
        Item::Static(i) => Some(&i.ident),
        Item::Fn(i) => Some(&i.sig.ident),
        Item::Struct(i) => Some(&i.ident),
        Item::Enum(i) => Some(&i.ident),
        Item::Union(i) => Some(&i.ident),
        Item::Mod(i) => Some(&i.ident),
        Item::Type(i) => Some(&i.ident),
        Item::Trait(i) => Some(&i.ident),
        Item::ExternCrate(i) => Some(&i.ident),
        Item::Use(u) => {
            use_tree(&u.tree, out);
            None
        }
        _ => None,
    };
    if let Some(i) = ident {
        out.insert(i.to_string());
    }
}

/// Names bound or declared anywhere in a function, and the `static mut`
/// items of its outermost block (visible in the whole body).
#[derive(Default)]
struct Bindings {
    names: HashSet<String>,
    statics: HashSet<String>,
}

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.names.insert(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }

    fn visit_item(&mut self, i: &'ast Item) {
        declared_names(i, &mut self.names);
        visit::visit_item(self, i);
    }
}

/// The `static mut` names that bare paths in this function resolve to:
/// declared in its module (when the module is instrumented) or in its
/// outermost block, and not shadowed by any other binding or item of the
/// same name in the function or module. Anything else is not treated as a
/// static: missing an access is acceptable, taking the address of a
/// constant would not compile.
fn statics_of(sig: &Signature, block: &Block, scope: &Scope) -> HashSet<String> {
    let mut b = Bindings::default();
    for input in &sig.inputs {
        if let FnArg::Typed(t) = input {
            b.visit_pat(&t.pat);
        }
    }
    for stmt in &block.stmts {
        match stmt {
            Stmt::Item(Item::Static(s))
                if matches!(s.mutability, syn::StaticMutability::Mut(_)) =>
            {
                b.statics.insert(s.ident.to_string());
                // Its initializer may declare items of its own.
                b.visit_expr(&s.expr);
            }
            other => b.visit_stmt(other),
        }
    }
    scope
        .statics
        .iter()
        .chain(&b.statics)
        .filter(|s| !b.names.contains(*s) && !scope.others.contains(*s))
        .cloned()
        .collect()
}

/// Frame, lint and tracked accesses for one function body.
fn instrument_fn(
    sig: &Signature,
    block: &mut Block,
    path: &str,
    scope: &Scope,
    errors: &mut Errors,
) {
    lostcancel::check(block, errors);
    let statics = statics_of(sig, block, scope);
    Tracker::new(&statics, matches!(sig.safety, syn::Safety::Unsafe(_))).visit_block_mut(block);
    let frame = frame(path, sig.ident.span());
    block.stmts.insert(0, frame);
}

/// `let __goro_frame = enter_frame(&SITE);`: the frame is popped when the
/// guard drops at the end of the body (for an `async fn`, when its future
/// completes or is dropped, since the body is the future's).
fn frame(path: &str, span: Span) -> Stmt {
    let guard = syn::Ident::new("__goro_frame", Span::mixed_site());
    let path = LitStr::new(path, span);
    // file!/line!/column! spanned at the name report where it is.
    let file = quote_spanned!(span=> ::core::file!());
    let line = quote_spanned!(span=> ::core::line!());
    let column = quote_spanned!(span=> ::core::column!());
    syn::parse_quote! {
        let #guard = ::goro::race::testing::enter_frame({
            static __GORO_SITE: ::goro::race::testing::FrameSite =
                ::goro::race::testing::FrameSite {
                    function: ::core::concat!(::core::module_path!(), "::", #path),
                    file: #file,
                    line: #line,
                    column: #column,
                };
            &__GORO_SITE
        });
    }
}

/// A test: checks, then `#[test] fn name() { test_main(spec, || async { body }) }`.
fn test_fn(
    args: &TestArgs,
    f: ItemFn,
    mode: Mode,
    scope: &Scope,
    errors: &mut Errors,
) -> TokenStream {
    let attribute = attribute_name(mode);
    let mut ok = true;
    let mut fail = |e: syn::Error| {
        ok = false;
        errors.push(e);
    };
    let tests: Vec<&Attribute> = f.attrs.iter().filter(|a| is_test_attr(a)).collect();
    match mode {
        Mode::Test => {
            for t in &tests {
                fail(syn::Error::new_spanned(
                    t,
                    "`#[goro::test]` already makes this a test: remove `#[test]`",
                ));
            }
        }
        Mode::Instrument => {
            for t in tests.iter().skip(1) {
                fail(syn::Error::new_spanned(
                    t,
                    "`#[test]` is given twice: remove this one",
                ));
            }
        }
    }
    for a in f.attrs.iter().filter(|a| is_other_test_attr(a)) {
        let shown = a.path().to_token_stream().to_string().replace(' ', "");
        let help = if mode == Mode::Instrument && tests.is_empty() {
            format!("replace `#[{shown}]` with `#[test]`, or both attributes with `#[goro::test]`")
        } else {
            format!("remove `#[{shown}]`")
        };
        fail(syn::Error::new_spanned(
            a,
            format!(
                "{attribute} runs this test itself, as the main goroutine under goro's \
                 detector; `#[{shown}]` would run the body a second time, on its own runtime \
                 and unchecked\n\nhelp: {help}"
            ),
        ));
    }
    let sig = &f.sig;
    if sig.asyncness.is_none() {
        fail(syn::Error::new_spanned(
            head(&sig.fn_token, &sig.ident),
            format!(
                "{attribute} tests must be `async fn`: the body runs as the main goroutine under \
                 the detector\n\nhelp: write `async fn {}()`",
                sig.ident
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        fail(syn::Error::new_spanned(
            &sig.inputs,
            format!("{attribute} tests take no parameters"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        fail(syn::Error::new_spanned(
            &sig.generics,
            format!("{attribute} tests cannot be generic"),
        ));
    }
    if let Some(c) = &sig.constness {
        fail(syn::Error::new(
            c.span,
            format!("{attribute} tests cannot be `const`"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if let Some(e) = bad_output(ty, attribute) {
            fail(e);
        }
    }
    if !ok {
        return fallback(Item::Fn(f));
    }

    let name = &sig.ident;
    let name_str = LitStr::new(&unraw(name), name.span());
    let vis = &f.vis;
    let (inner_attrs, outer_attrs): (Vec<Attribute>, Vec<Attribute>) = f
        .attrs
        .iter()
        .cloned()
        .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let test_attr = (mode == Mode::Test).then(|| quote!(#[test]));

    // The body becomes an `async fn` of its own inside the test: `return`
    // and `?` keep their meaning and the return type its inference.
    let body_name = syn::Ident::new("__goro_test_body", Span::call_site());
    let mut body = f.block.clone();
    instrument_fn(sig, &mut body, &unraw(name), scope, errors);
    let output = &sig.output;
    let check_span = match output {
        ReturnType::Default => name.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let stmts = &body.stmts;
    let check = quote_spanned! {check_span=>
        ::goro::race::testing::TestOutput::check(#body_name().await)
    };
    let fields = args.spec_fields();
    quote! {
        #(#outer_attrs)*
        #test_attr
        #vis fn #name() {
            async fn #body_name() #output {
                #(#inner_attrs)*
                #(#stmts)*
            }
            ::goro::race::testing::test_main(
                ::goro::race::testing::TestSpec {
                    name: ::core::concat!(::core::module_path!(), "::", #name_str),
                    #fields
                },
                || async { #check },
            )
        }
    }
}

/// Built-in and prelude types that are certainly not `()` (a test's return
/// type is checked by name: the macro sees no types).
const NOT_UNIT: [&str; 21] = [
    "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
    "u128", "usize", "f32", "f64", "String", "Vec", "Option", "Box",
];

/// Whether `ty` is certainly not `()`. A name the macro does not know may
/// be an alias of `()`, so it is left to the type check (`TestOutput`).
fn not_unit(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => not_unit(&p.elem),
        Type::Group(g) => not_unit(&g.elem),
        Type::Tuple(t) => !t.elems.is_empty(),
        Type::Path(p) if p.qself.is_none() => {
            p.path.segments.len() == 1 && {
                let name = p.path.segments[0].ident.to_string();
                NOT_UNIT.contains(&name.as_str())
            }
        }
        Type::Never(_)
        | Type::Reference(_)
        | Type::Ptr(_)
        | Type::Array(_)
        | Type::Slice(_)
        | Type::FnPtr(_)
        | Type::ImplTrait(_)
        | Type::TraitObject(_) => true,
        _ => false,
    }
}

/// A test's return type that is certainly neither `()` nor `Result<(), E>`
/// (`io::Result<()>` and other `Result` aliases included): an error at the
/// type, or at the `Ok` type of a `Result`. Anything unsure is left to the
/// `TestOutput` bound, which rejects the rest in test builds.
fn bad_output(ty: &Type, attribute: &str) -> Option<syn::Error> {
    let shown = |t: &Type| {
        t.to_token_stream()
            .to_string()
            .replace(" <", "<")
            .replace("< ", "<")
            .replace(" >", ">")
            .replace(" ,", ",")
            .replace(" :: ", "::")
            .replace("& ", "&")
    };
    let ok_type = match ty {
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) if last.ident == "Result" => {
                    a.args.iter().find_map(|arg| match arg {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    };
    match ok_type {
        Some(ok) if not_unit(ok) => Some(syn::Error::new_spanned(
            ok,
            format!(
                "{attribute} tests return `()` or `Result<(), E>` with `E: Debug`: the `Ok` \
                 type must be `()`, not `{}`\n\nhelp: check the value inside the test \
                 (`assert_eq!`) and return `Ok(())`",
                shown(ok)
            ),
        )),
        Some(_) => None,
        None if not_unit(ty) => Some(syn::Error::new_spanned(
            ty,
            format!(
                "{attribute} tests return `()` or `Result<(), E>` with `E: Debug`, not `{}`\n\n\
                 help: check the value inside the test (`assert_eq!`) and return nothing",
                shown(ty)
            ),
        )),
        None => None,
    }
}
