//! Tracked accesses in `unsafe` code: reads and writes of `static mut` items
//! and of places reached through raw pointers.
//!
//! A proc macro sees syntax, not types, so the rules are syntactic and built
//! so that they never change what the code does nor make it stop compiling:
//!
//! * A *place* is a path, field, index or deref chain: `STATIC.f[0]`,
//!   `(*p).next`, `*p.add(i)`. It is tracked when its base is a `static mut`
//!   the macro knows (see `crate::item`) or a deref `*operand`. Every deref is
//!   probed, and `Probe::new(addr_of!(operand)).is_raw()` decides at compile
//!   time, by type, whether it is a raw pointer: derefs of references, boxes
//!   and smart pointers cost nothing and are never recorded.
//! * The probe records `read_ptr`/`write_ptr(addr_of!(place))`, spanned at
//!   the place so `#[track_caller]` reports its line and column. `addr_of!`
//!   takes the address only: no reference to the accessed memory is created.
//! * A place is evaluated twice (once by the probe), so it must be pure:
//!   operands that are local names, fields, derefs, and indices that are
//!   literals or local names. An operand that is a call or any other value
//!   (`*p.add(1)`) is evaluated once, into a `match` binding. A place with an
//!   impure index (`(*p)[f()]`) is left untracked.
//! * The context decides the kind: the target of `=` is a write, of `+=` (and
//!   the other compound assignments) a read then a write, `&mut place` a
//!   write, `&raw`/`addr_of!` no access, anything else a read. A write is
//!   recorded after the assigned value is computed (which may synchronize).
//! * Not tracked: accesses inside macro invocations (their tokens are opaque),
//!   the scrutinee of `while let`, and destructuring assignment targets.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{BinOp, Expr, ExprPath, Ident, Pat, Stmt, UnOp};

/// Rewrites the accesses of one function body.
pub struct Tracker<'a> {
    statics: &'a HashSet<String>,
    in_unsafe: bool,
    next: usize,
}

impl<'a> Tracker<'a> {
    /// `statics`: the `static mut` names that paths in this body resolve to;
    /// `unsafe_body`: an `unsafe fn`, whose body is an unsafe context.
    pub fn new(statics: &'a HashSet<String>, unsafe_body: bool) -> Self {
        Tracker {
            statics,
            in_unsafe: unsafe_body,
            next: 0,
        }
    }
}

/// What a tracked place is based on.
#[derive(Clone)]
enum Base {
    /// A local or another untracked path.
    Plain,
    /// A known `static mut`: always tracked.
    Static,
    /// `*operand`: tracked when the operand is a raw pointer.
    Deref(Expr),
}

#[derive(Clone)]
struct Access {
    place: Expr,
    base: Base,
    span: Span,
}

/// A tracked place, rewritten: its rvalue operands bound once, the reads its
/// evaluation performs (`(*p).next` in `*(*p).next`), and itself.
struct Plan {
    bindings: Vec<(Ident, Expr)>,
    inner: Vec<Access>,
    main: Access,
}

impl Plan {
    fn probes(&self, read: bool, write: bool) -> TokenStream {
        let mut out: TokenStream = self.inner.iter().map(|a| probe(a, false)).collect();
        if read {
            out.extend(probe(&self.main, false));
        }
        if write {
            out.extend(probe(&self.main, true));
        }
        out
    }

    /// `body` after the probes, inside the bindings.
    fn wrap(&self, probes: TokenStream, body: TokenStream) -> Expr {
        let mut out = quote!({ #probes #body });
        for (id, init) in self.bindings.iter().rev() {
            out = quote!(match #init { #id => #out });
        }
        reparse(out)
    }
}

/// One probe statement.
fn probe(a: &Access, write: bool) -> TokenStream {
    let span = a.span;
    let place = &a.place;
    let record = if write {
        quote_spanned!(span=> ::goro::race::testing::write_ptr)
    } else {
        quote_spanned!(span=> ::goro::race::testing::read_ptr)
    };
    match &a.base {
        Base::Plain => TokenStream::new(),
        Base::Static => quote_spanned! {span=>
            #record(::core::ptr::addr_of!(#place));
        },
        Base::Deref(operand) => quote_spanned! {span=>
            {
                // Unused when the operand is a raw pointer (the inherent
                // method wins): that is the point.
                #[allow(unused_imports)]
                use ::goro::race::testing::NotRaw as _;
                if ::goro::race::testing::Probe::new(::core::ptr::addr_of!(#operand)).is_raw() {
                    #record(::core::ptr::addr_of!(#place));
                }
            };
        },
    }
}

/// Generated tokens back into syn's tree, so that printing adds the
/// parentheses a position needs (a `match` before `.method()`).
fn reparse(tokens: TokenStream) -> Expr {
    syn::parse2(tokens).unwrap_or_else(|e| {
        // The tokens come from valid expressions; failing here is a bug.
        Expr::Verbatim(e.to_compile_error())
    })
}

fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
    )
}

fn is_compound(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn is_place_syntax(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => true,
        Expr::Unary(u) => matches!(u.op, UnOp::Deref(_)),
        Expr::Paren(p) => is_place_syntax(&p.expr),
        Expr::Group(g) => is_place_syntax(&g.expr),
        _ => false,
    }
}

/// A name that is a local binding by convention (`p`, `self`, `_x`), not a
/// constant: reading it twice is harmless and taking its address is valid.
fn is_local_name(p: &ExprPath) -> bool {
    p.qself.is_none()
        && p.path.leading_colon.is_none()
        && p.path.segments.len() == 1
        && p.path.segments[0].arguments.is_none()
        && p.path.segments[0]
            .ident
            .to_string()
            .starts_with(|c: char| c.is_lowercase() || c == '_')
}

/// An index that is pure and `Copy` in practice: a literal or a local name.
fn is_pure_index(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Path(p) => is_local_name(p),
        Expr::Paren(p) => is_pure_index(&p.expr),
        _ => false,
    }
}

impl Tracker<'_> {
    fn fresh(&mut self) -> Ident {
        self.next += 1;
        Ident::new(&format!("__goro_p{}", self.next), Span::mixed_site())
    }

    fn is_static(&self, p: &ExprPath) -> bool {
        if p.qself.is_some() || p.path.leading_colon.is_some() {
            return false;
        }
        let segs: Vec<_> = p.path.segments.iter().collect();
        let name = match segs.as_slice() {
            [one] => one,
            [first, one] if first.ident == "self" && first.arguments.is_none() => one,
            _ => return false,
        };
        name.arguments.is_none() && self.statics.contains(&name.ident.to_string())
    }

    /// The plan of a tracked place, or `None` when `e` is not one (or cannot
    /// be tracked soundly).
    fn plan(&mut self, e: &Expr) -> Option<Plan> {
        let mut bindings = Vec::new();
        let mut inner = Vec::new();
        let (place, base) = self.place(e, &mut bindings, &mut inner)?;
        if matches!(base, Base::Plain) {
            return None;
        }
        Some(Plan {
            bindings,
            inner,
            main: Access {
                place,
                base,
                span: e.span(),
            },
        })
    }

    fn place(
        &mut self,
        e: &Expr,
        bindings: &mut Vec<(Ident, Expr)>,
        inner: &mut Vec<Access>,
    ) -> Option<(Expr, Base)> {
        match e {
            Expr::Path(p) if self.is_static(p) => Some((e.clone(), Base::Static)),
            Expr::Path(p) if is_local_name(p) => Some((e.clone(), Base::Plain)),
            Expr::Paren(x) => {
                let (new, base) = self.place(&x.expr, bindings, inner)?;
                let mut x = x.clone();
                *x.expr = new;
                Some((Expr::Paren(x), base))
            }
            Expr::Group(x) => {
                let (new, base) = self.place(&x.expr, bindings, inner)?;
                let mut x = x.clone();
                *x.expr = new;
                Some((Expr::Group(x), base))
            }
            Expr::Field(f) => {
                let (new, base) = self.place(&f.base, bindings, inner)?;
                let mut f = f.clone();
                *f.base = new;
                Some((Expr::Field(f), base))
            }
            Expr::Index(i) => {
                if !is_pure_index(&i.index) {
                    return None;
                }
                let (new, base) = self.place(&i.expr, bindings, inner)?;
                let mut i = i.clone();
                *i.expr = new;
                Some((Expr::Index(i), base))
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                let operand = &*u.expr;
                let new_operand = match self.place(operand, bindings, inner) {
                    Some((op, base)) => {
                        // Reading the operand is itself an access when it
                        // is a tracked place.
                        if !matches!(base, Base::Plain) {
                            inner.push(Access {
                                place: op.clone(),
                                base,
                                span: operand.span(),
                            });
                        }
                        op
                    }
                    // An impure place operand would be evaluated twice.
                    None if is_place_syntax(operand) && !is_constant_like(operand) => return None,
                    None => {
                        // A value (`p.add(1)`, `CONST_PTR`): evaluated once,
                        // with its own accesses tracked, into a binding.
                        let mut value = operand.clone();
                        self.visit_expr_mut(&mut value);
                        let id = self.fresh();
                        bindings.push((id.clone(), value));
                        syn::parse_quote!(#id)
                    }
                };
                let mut u = u.clone();
                *u.expr = new_operand.clone();
                Some((Expr::Unary(u), Base::Deref(new_operand)))
            }
            _ => None,
        }
    }

    /// A place context the tracker does not record (the operand of `&raw`,
    /// a field base whose place is untracked): its inner values are still
    /// visited, but the place itself is never turned into a value.
    fn visit_place_untracked(&mut self, e: &mut Expr) {
        match e {
            Expr::Field(f) => self.visit_place_untracked(&mut f.base),
            Expr::Index(i) => {
                self.visit_place_untracked(&mut i.expr);
                self.visit_expr_mut(&mut i.index);
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                self.visit_place_untracked(&mut u.expr)
            }
            Expr::Paren(p) => self.visit_place_untracked(&mut p.expr),
            Expr::Group(g) => self.visit_place_untracked(&mut g.expr),
            Expr::Path(_) => {}
            other => self.visit_expr_mut(other),
        }
    }

    /// `let pat = place;` in an unsafe block: the probes go in a statement
    /// before it, so the initializer stays a place (`let ref x = *p` and
    /// partial moves keep their meaning). Returns the statements to emit.
    fn local(&mut self, mut stmt: Stmt) -> Vec<Stmt> {
        let Stmt::Local(local) = &mut stmt else {
            self.visit_stmt_mut(&mut stmt);
            return vec![stmt];
        };
        let Some(init) = &mut local.init else {
            self.visit_stmt_mut(&mut stmt);
            return vec![stmt];
        };
        let Some(plan) = self.plan(&init.expr) else {
            self.visit_place_untracked(&mut init.expr);
            if let Some((_, diverge)) = &mut init.diverge {
                self.visit_expr_mut(diverge);
            }
            return vec![stmt];
        };
        if let Some((_, diverge)) = &mut init.diverge {
            self.visit_expr_mut(diverge);
        }
        if plan.bindings.is_empty() {
            let probes = plan.probes(true, false);
            *init.expr = plan.main.place.clone();
            let before = Stmt::Expr(reparse(quote!({ #probes })), None);
            return vec![before, stmt];
        }
        // Bindings cannot outlive the `let`: read into a value. That is the
        // same thing for a plain name, and the only way otherwise.
        let simple = match &local.pat {
            Pat::Ident(p) => p.by_ref.is_none() && p.subpat.is_none(),
            Pat::Type(t) => {
                matches!(&*t.pat, Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none())
            }
            _ => false,
        };
        if simple {
            let place = &plan.main.place;
            *init.expr = plan.wrap(plan.probes(true, false), quote!(#place));
        } else {
            self.visit_place_untracked(&mut init.expr);
        }
        vec![stmt]
    }
}

/// A SCREAMING_CASE or multi-segment path: a constant (or a static the macro
/// does not know). Its value is bound once instead of being re-evaluated.
fn is_constant_like(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => !is_local_name(p),
        Expr::Paren(p) => is_constant_like(&p.expr),
        Expr::Group(g) => is_constant_like(&g.expr),
        _ => false,
    }
}

impl VisitMut for Tracker<'_> {
    // Nested items are other functions, instrumented (or not) on their own.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}

    fn visit_expr_unsafe_mut(&mut self, e: &mut syn::ExprUnsafe) {
        let outer = std::mem::replace(&mut self.in_unsafe, true);
        visit_mut::visit_expr_unsafe_mut(self, e);
        self.in_unsafe = outer;
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        if !self.in_unsafe {
            return visit_mut::visit_block_mut(self, b);
        }
        let stmts = std::mem::take(&mut b.stmts);
        for stmt in stmts {
            let out = self.local(stmt);
            b.stmts.extend(out);
        }
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if !self.in_unsafe {
            return visit_mut::visit_expr_mut(self, e);
        }
        match e {
            Expr::Assign(a) => match self.plan(&a.left) {
                Some(plan) => {
                    self.visit_expr_mut(&mut a.right);
                    *e = assign(&plan, &a.right, None, a.eq_token.span());
                }
                None => {
                    // A destructuring target is left alone.
                    if is_place_syntax(&a.left) {
                        self.visit_place_untracked(&mut a.left);
                    }
                    self.visit_expr_mut(&mut a.right);
                }
            },
            Expr::Binary(b) if is_compound(&b.op) => match self.plan(&b.left) {
                Some(plan) => {
                    self.visit_expr_mut(&mut b.right);
                    *e = assign(&plan, &b.right, Some(&b.op), b.op.span());
                }
                None => {
                    self.visit_place_untracked(&mut b.left);
                    self.visit_expr_mut(&mut b.right);
                }
            },
            // Comparisons borrow their operands: both are places.
            Expr::Binary(b) if is_comparison(&b.op) => {
                let left = self.plan(&b.left);
                if left.is_none() {
                    self.visit_place_untracked(&mut b.left);
                }
                let right = self.plan(&b.right);
                if right.is_none() {
                    self.visit_place_untracked(&mut b.right);
                }
                if left.is_none() && right.is_none() {
                    return;
                }
                let mut probes = TokenStream::new();
                let mut bindings = Vec::new();
                for (plan, side) in [(left, &mut b.left), (right, &mut b.right)] {
                    if let Some(plan) = plan {
                        probes.extend(plan.probes(true, false));
                        **side = plan.main.place.clone();
                        bindings.extend(plan.bindings);
                    }
                }
                let body = b.to_token_stream();
                *e = Plan {
                    bindings,
                    inner: Vec::new(),
                    main: Access {
                        place: Expr::Verbatim(TokenStream::new()),
                        base: Base::Plain,
                        span: Span::call_site(),
                    },
                }
                .wrap(probes, body);
            }
            Expr::Reference(r) => match self.plan(&r.expr) {
                Some(plan) => {
                    let write = r.mutability.is_some();
                    *r.expr = plan.main.place.clone();
                    let body = r.to_token_stream();
                    *e = plan.wrap(plan.probes(!write, write), body);
                }
                None => self.visit_place_untracked(&mut r.expr),
            },
            Expr::RawAddr(r) => self.visit_place_untracked(&mut r.expr),
            Expr::MethodCall(m) => {
                let plan = self.plan(&m.receiver);
                if plan.is_none() {
                    self.visit_place_untracked(&mut m.receiver);
                }
                for arg in &mut m.args {
                    self.visit_expr_mut(arg);
                }
                if let Some(plan) = plan {
                    *m.receiver = plan.main.place.clone();
                    let body = m.to_token_stream();
                    *e = plan.wrap(plan.probes(true, false), body);
                }
            }
            Expr::Match(m) => {
                let plan = self.plan(&m.expr);
                if plan.is_none() {
                    self.visit_place_untracked(&mut m.expr);
                }
                for arm in &mut m.arms {
                    self.visit_arm_mut(arm);
                }
                if let Some(plan) = plan {
                    *m.expr = plan.main.place.clone();
                    let body = m.to_token_stream();
                    *e = plan.wrap(plan.probes(true, false), body);
                }
            }
            Expr::If(i) if matches!(&*i.cond, Expr::Let(_)) => {
                let Expr::Let(l) = &mut *i.cond else {
                    unreachable!("matched above")
                };
                let plan = self.plan(&l.expr);
                if plan.is_none() {
                    self.visit_place_untracked(&mut l.expr);
                }
                self.visit_block_mut(&mut i.then_branch);
                if let Some((_, else_branch)) = &mut i.else_branch {
                    self.visit_expr_mut(else_branch);
                }
                if let Some(plan) = plan {
                    *l.expr = plan.main.place.clone();
                    let body = i.to_token_stream();
                    *e = plan.wrap(plan.probes(true, false), body);
                }
            }
            // `while let` and let chains: the scrutinee is evaluated again
            // on every iteration, where no probe can go without rewriting
            // the loop; left untracked.
            Expr::Let(l) => self.visit_place_untracked(&mut l.expr),
            Expr::Path(_) | Expr::Field(_) | Expr::Index(_) | Expr::Paren(_) | Expr::Group(_) => {
                self.value(e)
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => self.value(e),
            // Macro tokens are opaque.
            Expr::Macro(_) => {}
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_stmt_macro_mut(&mut self, _: &mut syn::StmtMacro) {}
}

impl Tracker<'_> {
    /// A place used as a value: a read.
    fn value(&mut self, e: &mut Expr) {
        match self.plan(e) {
            Some(plan) => {
                let place = &plan.main.place;
                *e = plan.wrap(plan.probes(true, false), quote!(#place));
            }
            None => self.visit_place_untracked(e),
        }
    }
}

/// `place = value` or `place op= value`: the write (and the read of a
/// compound assignment) recorded after `value` is computed.
fn assign(plan: &Plan, value: &Expr, op: Option<&BinOp>, span: Span) -> Expr {
    let place = &plan.main.place;
    let probes = plan.probes(op.is_some(), true);
    let op = match op {
        Some(op) => op.to_token_stream(),
        None => quote_spanned!(span=> =),
    };
    if plan.bindings.is_empty() {
        // `tracked(value, probes)` evaluates the probes after the value and
        // keeps the value's expected type (closures, coercions).
        let tracked = quote_spanned! {span=>
            ::goro::race::testing::tracked(#value, { #probes ::goro::race::testing::Recorded })
        };
        return reparse(quote!(#place #op #tracked));
    }
    // The operands are evaluated after the value, as in the original.
    let v = Ident::new("__goro_value", Span::mixed_site());
    let inner = plan.wrap(probes, quote!(#place #op #v));
    reparse(quote!({ let #v = #value; #inner }))
}
