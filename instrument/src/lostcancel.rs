//! The lostcancel lint: a `CancelFunc` that is thrown away, never used, or
//! not used on some path out of the function.
//!
//! goro follows Go: dropping a `CancelFunc` does not cancel, so a cancel
//! function that is never called leaks its context (and its timer) until the
//! parent is cancelled. `go vet` reports that; here it is a compile error of
//! the instrumented function.
//!
//! Two checks, both syntactic:
//!
//! * At the binding: `_`, `let _ = ..`, a discarded call, and a name
//!   (`cancel` or `_cancel`) that is never mentioned again.
//! * Along paths: from the binding to every place control leaves the name's
//!   scope (a `return`, a `?`, a `break` or `continue` out of its block, the
//!   end of its block or of a branch that ends it, a `let` that shadows it),
//!   the name must have been *used*: any mention counts (a call, a move, a
//!   borrow, in a closure, an async block or a macro). The error is at the
//!   exit, plus one at the binding. Go's `defer cancel()` is
//!   `let _cancel = cancel.on_drop();`, a use on every exit after it.
//!
//! The path check never reports a path it is unsure of: a use inside a
//! branch, a loop body or a closure counts as soon as the code containing it
//! runs; a `return` or `?` inside a macro is not seen; `panic!`,
//! `unreachable!`, `todo!`, `unimplemented!`, `process::exit` and
//! `process::abort` end their path without a leak. Like `go vet`, it treats
//! every branch as reachable: two conditions that exclude each other are not
//! correlated.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, Ident, Pat, Stmt};

use crate::args::Errors;

/// The `context` functions that return a `CancelFunc`.
const CANCELING: [&str; 3] = ["with_cancel", "with_timeout", "with_deadline"];

/// Macros that never complete normally: a path through them is no leak.
const DIVERGING_MACROS: [&str; 4] = ["panic", "unreachable", "todo", "unimplemented"];

/// Functions that never return (by the last segment of their path).
const DIVERGING_FNS: [&str; 4] = ["exit", "abort", "panic_any", "resume_unwind"];

/// Checks every block of `body`: closures and async blocks are checked as
/// bodies of their own (a `return` there leaves them, not the function),
/// and so are nested functions.
pub fn check(body: &Block, errors: &mut Errors) {
    let mut lint = Lint {
        errors,
        unit: Unit::Function,
        body: Some(body),
    };
    lint.visit_block(body);
}

/// What a `return` leaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Function,
    Closure,
    AsyncBlock,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Function => "the function",
            Unit::Closure => "the closure",
            Unit::AsyncBlock => "the async block",
        }
    }
}

/// Finds the bindings, keeping track of the body they are in.
struct Lint<'a, 'ast> {
    errors: &'a mut Errors,
    unit: Unit,
    /// The block that is the whole body of `unit`, if it is a block.
    body: Option<&'ast Block>,
}

impl<'ast> Lint<'_, 'ast> {
    /// Visits `inner` as the body of a new unit.
    fn unit(&mut self, unit: Unit, body: Option<&'ast Block>, inner: impl FnOnce(&mut Self)) {
        let saved = (self.unit, self.body);
        (self.unit, self.body) = (unit, body);
        inner(self);
        (self.unit, self.body) = saved;
    }
}

/// `{ .. }` as the body of a closure: the block, if it is one.
fn block_of(e: &Expr) -> Option<&Block> {
    match e {
        Expr::Block(b) if b.label.is_none() => Some(&b.block),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Lint<'_, 'ast> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.unit(Unit::Function, Some(&f.block), |l| l.visit_block(&f.block));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.unit(Unit::Function, Some(&f.block), |l| l.visit_block(&f.block));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.unit(Unit::Function, Some(block), |l| l.visit_block(block));
        }
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.unit(Unit::Closure, block_of(&c.body), |l| l.visit_expr(&c.body));
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.unit(Unit::AsyncBlock, Some(&a.block), |l| {
            l.visit_block(&a.block)
        });
    }

    fn visit_block(&mut self, block: &'ast Block) {
        let is_body = self.body.is_some_and(|b| std::ptr::eq(b, block));
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        if let Some(func) = canceling_call(&init.expr) {
                            let scope = Scope {
                                block,
                                rest: i + 1,
                                unit: self.unit,
                                is_body,
                            };
                            binding(&local.pat, &func, &scope, self.errors);
                        }
                    }
                }
                Stmt::Expr(e, Some(_)) => {
                    if let Some(func) = canceling_call(e) {
                        self.errors.push(leak(
                            e.span(),
                            &func,
                            "bind the result and call the cancel function on every path once \
                             the work is done:\n      let (ctx, cancel) = context::FUNC(..);\n      \
                             ..\n      cancel.cancel();",
                        ));
                    }
                }
                _ => {}
            }
        }
        visit::visit_block(self, block);
    }
}

/// Where a binding lives: its block, the index of the statement after it,
/// and what that block is.
struct Scope<'ast> {
    block: &'ast Block,
    rest: usize,
    unit: Unit,
    /// Whether the block is the unit's whole body (its end leaves the unit).
    is_body: bool,
}

fn binding(pat: &Pat, func: &Ident, scope: &Scope<'_>, errors: &mut Errors) {
    let pat = match pat {
        Pat::Type(t) => &*t.pat,
        p => p,
    };
    match pat {
        Pat::Wild(w) => errors.push(leak(
            w.span(),
            func,
            "bind the cancel function and call it on every path once the work is done:\n      \
             let (ctx, cancel) = context::FUNC(..);\n      ..\n      cancel.cancel();",
        )),
        Pat::Tuple(t) if t.elems.len() == 2 => match &t.elems[1] {
            Pat::Wild(w) => errors.push(leak(
                w.span(),
                func,
                "bind the cancel function instead of `_` and call it on every path once the \
                 work is done:\n      let (ctx, cancel) = context::FUNC(..);\n      ..\n      \
                 cancel.cancel();",
            )),
            Pat::Ident(p) if p.subpat.is_none() => named(&p.ident, func, scope, errors),
            _ => {}
        },
        // `let pair = with_cancel(..)`: `pair` must be used like a cancel
        // function (any mention counts).
        Pat::Ident(p) if p.subpat.is_none() => named(&p.ident, func, scope, errors),
        _ => {}
    }
}

/// A cancel function bound to `name`: never mentioned, or not on every path.
fn named(name: &Ident, func: &Ident, scope: &Scope<'_>, errors: &mut Errors) {
    let rest = &scope.block.stmts[scope.rest..];
    if !mentioned(name, rest) {
        let help = match name.to_string().strip_prefix('_') {
            Some(rest) => {
                let better = if rest.is_empty() { "cancel" } else { rest };
                format!(
                    "the leading `_` silences the unused-variable warning, not the leak: name it \
                     `{better}` and call `{better}.cancel()` on every path once the work is done"
                )
            }
            None => format!(
                "call `{name}.cancel()` on every path once the work is done, e.g. before \
                 returning (dropping a CancelFunc does not cancel)"
            ),
        };
        errors.push(leak(name.span(), func, &help));
        return;
    }
    let exits = Paths::new(name, func, scope).run();
    if exits.is_empty() {
        return;
    }
    let n = exits.len();
    for e in exits {
        errors.push(e);
    }
    // Go vet's second diagnostic: where the leaking variable was bound.
    errors.push(syn::Error::new(
        name.span(),
        format!(
            "`{name}` holds the cancel function returned by {func}, bound here; {} reached \
             without calling it",
            if n == 1 {
                "the exit above is"
            } else {
                "the exits above are"
            },
        ),
    ));
}

/// What the end of the binding's block leaves: the unit, or the block.
fn scope_name(name: &Ident, scope: &Scope<'_>) -> String {
    if scope.is_body {
        scope.unit.name().to_string()
    } else {
        format!("the block that binds `{name}`")
    }
}

fn leak(span: Span, func: &Ident, help: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "the cancel function returned by {func} is never called; the context leaks until \
             its parent is cancelled\n\nhelp: {}",
            help.replace("FUNC", &func.to_string())
        ),
    )
}

/// `path::with_cancel(..)` (any path ending in a canceling function name),
/// through parentheses.
fn canceling_call(e: &Expr) -> Option<Ident> {
    match e {
        Expr::Paren(p) => canceling_call(&p.expr),
        Expr::Group(g) => canceling_call(&g.expr),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => {
                let last = &p.path.segments.last()?.ident;
                CANCELING.iter().any(|n| last == n).then(|| last.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether `name` appears in `rest` before a `let` of this block rebinds it
/// (that `let`'s initializer still counts: `let cancel = wrap(cancel);`).
fn mentioned(name: &Ident, rest: &[Stmt]) -> bool {
    for stmt in rest {
        if let Stmt::Local(local) = stmt {
            if binds(&local.pat, name) {
                return local
                    .init
                    .as_ref()
                    .is_some_and(|i| has_ident(i.expr.to_token_stream(), name));
            }
        }
        if has_ident(stmt.to_token_stream(), name) {
            return true;
        }
    }
    false
}

/// Whether the pattern binds `name` (not a field or path of that name).
fn binds(pat: &Pat, name: &Ident) -> bool {
    struct Binds<'a> {
        name: &'a Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Binds<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.found |= p.ident == *self.name;
            visit::visit_pat_ident(self, p);
        }
    }
    let mut b = Binds { name, found: false };
    b.visit_pat(pat);
    b.found
}

/// Whether `tokens` mention `name`, as an identifier or inside a string
/// literal as an inline format argument (`"{cancel:?}"`).
fn has_ident(tokens: TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == *name,
        TokenTree::Group(g) => has_ident(g.stream(), name),
        TokenTree::Literal(l) => {
            let s = l.to_string();
            s.contains(&format!("{{{name}}}")) || s.contains(&format!("{{{name}:"))
        }
        TokenTree::Punct(_) => false,
    })
}

/// Whether the cancel function has been used on the paths reaching a point.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flow {
    /// No path reaches this point.
    Dead,
    /// Used on every path that reaches it.
    Used,
    /// Not used on some path that reaches it.
    Unused,
}

impl Flow {
    fn join(self, other: Flow) -> Flow {
        match (self, other) {
            (Flow::Dead, x) | (x, Flow::Dead) => x,
            (Flow::Used, Flow::Used) => Flow::Used,
            _ => Flow::Unused,
        }
    }
}

/// A loop or labelled block inside the binding's block: where a `break`
/// goes, and the flow of the `break`s that went there.
struct Target {
    label: Option<String>,
    is_loop: bool,
    breaks: Flow,
}

/// One branch of an `if` or `match` that ends the binding's block.
struct Branch {
    flow: Flow,
    /// The tokens the error spans.
    at: TokenStream,
    /// "this match arm ends", "when this condition holds, .. ends", ..
    what: Ending,
}

#[derive(Clone, Copy)]
enum Ending {
    Arm,
    Then,
    NoElse,
    Else,
}

/// The path walk for one binding: the flow through the rest of its block,
/// with an error at every exit reached while it is `Unused`.
struct Paths<'a> {
    name: &'a Ident,
    func: &'a Ident,
    scope: &'a Scope<'a>,
    flow: Flow,
    targets: Vec<Target>,
    exits: Vec<syn::Error>,
}

impl<'a> Paths<'a> {
    fn new(name: &'a Ident, func: &'a Ident, scope: &'a Scope<'a>) -> Self {
        Paths {
            name,
            func,
            scope,
            flow: Flow::Unused,
            targets: Vec::new(),
            exits: Vec::new(),
        }
    }

    /// Walks the statements after the binding, then the end of the block.
    fn run(mut self) -> Vec<syn::Error> {
        let rest = &self.scope.block.stmts[self.scope.rest..];
        for (i, stmt) in rest.iter().enumerate() {
            if let Stmt::Local(local) = stmt {
                if binds(&local.pat, self.name) {
                    // `let cancel = ..` again: the old value is out of reach
                    // once the initializer has run.
                    self.visit_local(local);
                    if self.flow == Flow::Unused {
                        let msg = format!(
                            "this `let` shadows `{}` before the cancel function returned by {} \
                             is called on every path; the context leaks until its parent is \
                             cancelled",
                            self.name, self.func
                        );
                        let help = format!(
                            "call `{0}.cancel()` first, or give the new binding another name",
                            self.name
                        );
                        self.exit(local.let_token.span, msg, &help);
                    }
                    return self.exits;
                }
            }
            if i + 1 == rest.len() {
                self.end_stmt(stmt);
            } else {
                self.visit_stmt(stmt);
            }
        }
        if self.flow == Flow::Unused {
            let msg = format!(
                "{} can end here without calling the cancel function returned by {}; the \
                 context leaks until its parent is cancelled",
                scope_name(self.name, self.scope),
                self.func
            );
            let help = self.help("before this path ends");
            self.exit(self.scope.block.brace_token.span.close(), msg, &help);
        }
        self.exits
    }

    fn used(&mut self) {
        if self.flow == Flow::Unused {
            self.flow = Flow::Used;
        }
    }

    fn mention(&mut self, tokens: TokenStream) {
        if has_ident(tokens, self.name) {
            self.used();
        }
    }

    /// An error at an exit reached while the flow is `Unused`.
    fn exit(&mut self, span: Span, msg: String, help: &str) {
        self.exits
            .push(syn::Error::new(span, format!("{msg}\n\nhelp: {help}")));
    }

    /// The fix, for a path that leaves at `before` ("before returning").
    fn help(&self, before: &str) -> String {
        format!(
            "call `{0}.cancel()` {before}, or use `{0}` on every path; to cancel on every exit, \
             as Go's `defer cancel()` does, move it into a guard whose `Drop` calls `cancel()`",
            self.name
        )
    }

    /// "this return leaves the function without calling ..".
    fn leaves(&mut self, span: Span, what: &str, before: &str) {
        if self.flow == Flow::Unused {
            let msg = format!(
                "{what} without calling the cancel function returned by {}; the context leaks \
                 until its parent is cancelled",
                self.func
            );
            let help = self.help(before);
            self.exit(span, msg, &help);
        }
    }

    /// A `break` or `continue`: to a target inside the binding's block, or
    /// out of it.
    fn jump(&mut self, label: Option<&syn::Lifetime>, keyword: &str, span: Span, is_break: bool) {
        let label = label.map(|l| l.ident.to_string());
        let target = self.targets.iter_mut().rev().find(|t| match &label {
            Some(l) => t.label.as_deref() == Some(l),
            None => t.is_loop,
        });
        match target {
            Some(t) => {
                if is_break {
                    t.breaks = t.breaks.join(self.flow);
                }
                // A `continue` goes back to the loop's head, whose flow is
                // never more used than this one: nothing to record.
            }
            None => {
                let what = format!(
                    "this `{keyword}` leaves {}",
                    scope_name(self.name, self.scope)
                );
                self.leaves(span, &what, "before leaving");
            }
        }
        self.flow = Flow::Dead;
    }

    /// Runs `body` as a loop body (or labelled block) and returns the flow
    /// of the `break`s that reached it.
    fn target(&mut self, label: Option<&syn::Label>, is_loop: bool, body: &Block) -> Flow {
        self.targets.push(Target {
            label: label.map(|l| l.name.ident.to_string()),
            is_loop,
            breaks: Flow::Dead,
        });
        self.visit_block(body);
        self.targets.pop().map_or(Flow::Dead, |t| t.breaks)
    }

    /// The last statement of the binding's block (or of a branch that ends
    /// it): its branches are where a path leaves.
    fn end_stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Expr(e, _) => self.end_expr(e),
            other => self.visit_stmt(other),
        }
    }

    fn end_block(&mut self, block: &Block) {
        if let Some((last, init)) = block.stmts.split_last() {
            for s in init {
                self.visit_stmt(s);
            }
            self.end_stmt(last);
        }
    }

    fn end_expr(&mut self, e: &Expr) {
        match e {
            Expr::If(i) => {
                self.visit_expr(&i.cond);
                let start = self.flow;
                let if_cond = {
                    let (t, c) = (&i.if_token, &i.cond);
                    quote!(#t #c)
                };
                self.end_block(&i.then_branch);
                let then = Branch {
                    flow: self.flow,
                    at: if_cond.clone(),
                    what: Ending::Then,
                };
                self.flow = start;
                let other = match &i.else_branch {
                    Some((else_token, e)) => {
                        self.end_expr(e);
                        Branch {
                            flow: self.flow,
                            at: else_token.to_token_stream(),
                            what: Ending::Else,
                        }
                    }
                    None => Branch {
                        flow: start,
                        at: if_cond,
                        what: Ending::NoElse,
                    },
                };
                self.branches(vec![then, other]);
            }
            Expr::Match(m) => {
                self.visit_expr(&m.expr);
                let start = self.flow;
                let mut arms = Vec::new();
                for arm in &m.arms {
                    self.flow = start;
                    // A guard is an expression; a name bound by the pattern
                    // shadows: either way, count the mention.
                    self.mention(arm.pat.to_token_stream());
                    self.end_expr(&arm.body);
                    let (p, a) = (&arm.pat, &arm.fat_arrow_token);
                    arms.push(Branch {
                        flow: self.flow,
                        at: quote!(#p #a),
                        what: Ending::Arm,
                    });
                }
                if arms.is_empty() {
                    // `match never {}`: no path continues.
                    self.flow = Flow::Dead;
                } else {
                    self.branches(arms);
                }
            }
            Expr::Block(b) if b.label.is_none() => self.end_block(&b.block),
            Expr::Unsafe(u) => self.end_block(&u.block),
            Expr::Paren(p) => self.end_expr(&p.expr),
            Expr::Group(g) => self.end_expr(&g.expr),
            other => self.visit_expr(other),
        }
    }

    /// Branches that end the binding's block. When some use the cancel
    /// function and others do not, the others are the leaks: each is
    /// reported and ends there. When none uses it, the leak is not in this
    /// choice: the flow goes on, unused, to the end of the block.
    fn branches(&mut self, branches: Vec<Branch>) {
        let some_used = branches.iter().any(|b| b.flow == Flow::Used);
        let mut flow = Flow::Dead;
        for b in branches {
            if some_used && b.flow == Flow::Unused {
                let end = scope_name(self.name, self.scope);
                let what = match b.what {
                    Ending::Arm => format!("this match arm ends {end}"),
                    Ending::Then => format!("when this condition holds, {end} ends"),
                    Ending::NoElse => format!("when this condition is false, {end} ends"),
                    Ending::Else => format!("this `else` branch ends {end}"),
                };
                let msg = format!(
                    "{what} without calling the cancel function returned by {}; the context \
                     leaks until its parent is cancelled",
                    self.func
                );
                let help = self.help("on this path too");
                self.exits.push(syn::Error::new_spanned(
                    b.at,
                    format!("{msg}\n\nhelp: {help}"),
                ));
            } else {
                flow = flow.join(b.flow);
            }
        }
        self.flow = flow;
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    // Items cannot capture the binding; a mention there is another variable
    // of the same name, but counting it keeps the lint quiet when unsure.
    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.mention(i.to_token_stream());
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.get_ident() == Some(self.name) {
            self.used();
        }
    }

    // Closures and async blocks run later, or never: capturing the cancel
    // function is a use (it is moved or borrowed there), and their `return`s
    // and `?`s leave them, not this function.
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.mention(c.to_token_stream());
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.mention(a.to_token_stream());
    }

    fn visit_expr_const(&mut self, c: &'ast syn::ExprConst) {
        self.mention(c.to_token_stream());
    }

    fn visit_expr_try_block(&mut self, t: &'ast syn::ExprTryBlock) {
        // A `?` inside leaves the try block, not the function.
        self.mention(t.to_token_stream());
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // The tokens are opaque: a mention is a use, a `return` inside is
        // not seen.
        self.mention(m.tokens.clone());
        let diverges = m
            .path
            .segments
            .last()
            .is_some_and(|s| DIVERGING_MACROS.iter().any(|d| s.ident == d));
        if diverges {
            self.flow = Flow::Dead;
        }
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Verbatim(tokens) => self.mention(tokens.clone()),
            _ => visit::visit_expr(self, e),
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        visit::visit_expr_call(self, c);
        if let Expr::Path(p) = &*c.func {
            let diverges = p
                .path
                .segments
                .last()
                .is_some_and(|s| DIVERGING_FNS.iter().any(|d| s.ident == d));
            if diverges {
                self.flow = Flow::Dead;
            }
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                // `let .. else { .. }`: the else block leaves (its exits are
                // checked); the path that matched goes on.
                let matched = self.flow;
                self.visit_expr(diverge);
                self.flow = matched;
            }
        }
    }

    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        if let Some(e) = &r.expr {
            self.visit_expr(e);
        }
        let what = format!("this return leaves {}", self.scope.unit.name());
        self.leaves(r.return_token.span, &what, "before returning");
        self.flow = Flow::Dead;
    }

    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.visit_expr(&t.expr);
        let what = format!("this `?` can return from {}", self.scope.unit.name());
        self.leaves(t.question_token.span, &what, "before this `?` can return");
    }

    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        if let Some(e) = &b.expr {
            self.visit_expr(e);
        }
        self.jump(b.label.as_ref(), "break", b.break_token.span, true);
    }

    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        self.jump(c.label.as_ref(), "continue", c.continue_token.span, false);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        let start = self.flow;
        self.visit_block(&i.then_branch);
        let then = self.flow;
        self.flow = start;
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
        self.flow = self.flow.join(then);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let start = self.flow;
        let mut out = Flow::Dead;
        for arm in &m.arms {
            self.flow = start;
            self.mention(arm.pat.to_token_stream());
            self.visit_expr(&arm.body);
            out = out.join(self.flow);
        }
        self.flow = out;
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        // Only a `break` leaves a `loop`.
        self.flow = self.target(l.label.as_ref(), true, &l.body);
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.visit_expr(&w.cond);
        let skip = self.flow;
        let breaks = self.target(w.label.as_ref(), true, &w.body);
        let forever = matches!(
            &*w.cond,
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if b.value
        );
        // The body may run zero times: its uses do not count after the
        // loop, except through a `break`.
        self.flow = if forever { breaks } else { skip.join(breaks) };
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let skip = self.flow;
        self.mention(f.pat.to_token_stream());
        let breaks = self.target(f.label.as_ref(), true, &f.body);
        self.flow = skip.join(breaks);
    }

    fn visit_expr_block(&mut self, b: &'ast syn::ExprBlock) {
        match &b.label {
            Some(label) => {
                let breaks = self.target(Some(label), false, &b.block);
                self.flow = self.flow.join(breaks);
            }
            None => self.visit_block(&b.block),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: TokenStream) -> Vec<String> {
        let block: Block = syn::parse2(body).unwrap();
        let mut errors = Errors::default();
        check(&block, &mut errors);
        errors
            .finish()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn flags_discarded_wildcard_and_unused_cancel_functions() {
        let found = errors(quote::quote!({
            let (_a, _) = context::with_timeout(&p, d);
            let (_b, _cancel) = with_deadline(&p, t);
            let (_c, cancel) = goro::context::with_cancel(&p);
            let _ = context::with_cancel(&p);
            context::with_cancel(&p);
        }));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found[0].starts_with("the cancel function returned by with_timeout is never called")
        );
        assert!(found[1].contains("with_deadline"));
        assert!(found[1].contains("name it `cancel`"), "{}", found[1]);
        assert!(found[1].contains("leading `_`"), "{}", found[1]);
        assert!(found[2].contains("call `cancel.cancel()`"));
    }

    #[test]
    fn an_on_drop_guard_is_a_use_on_every_later_exit() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_timeout(&p, d);
            let _cancel = cancel.on_drop();
            if x {
                return;
            }
            let (_ctx2, c2) = context::with_cancel(&ctx);
            let _c2 = c2.on_drop();
            work(&ctx)?;
        }));
        assert!(found.is_empty(), "{found:?}");
        // The guard taken on one branch only still leaves the other open.
        let found = errors(quote::quote!({
            let (_ctx, cancel) = context::with_cancel(&p);
            if x {
                let _g = cancel.on_drop();
                return;
            }
            work()?;
        }));
        assert!(!found.is_empty(), "{found:?}");
    }

    #[test]
    fn any_later_mention_on_every_path_is_a_use() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            goro::go!(async move { cancel.cancel() });
            let (ctx2, c2) = context::with_timeout(&ctx, d);
            let c2 = Guard(c2);
            let (_ctx3, c3) = context::with_cancel(&ctx2);
            if x {
                c3.cancel();
            } else {
                hand_over(c3);
            }
        }));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_rebinding_hides_later_mentions() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            let (ctx, cancel) = context::with_cancel(&ctx);
            cancel.cancel();
        }));
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn nested_blocks_and_closures_are_checked() {
        let found = errors(quote::quote!({
            let f = || {
                let (_ctx, _) = context::with_cancel(&p);
            };
            async {
                let _ = context::with_timeout(&p, d);
            };
        }));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn an_early_return_before_the_use_leaks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_timeout(&p, d);
            if ctx.err().is_some() {
                return;
            }
            cancel.cancel();
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(
            "this return leaves the function without calling the cancel function returned by \
             with_timeout; the context leaks until its parent is cancelled"
        ));
        assert!(found[1].starts_with(
            "`cancel` holds the cancel function returned by with_timeout, bound here; the exit \
             above is reached without calling it"
        ));
        assert!(found[0].contains("help: call `cancel.cancel()` before returning"));
    }

    #[test]
    fn a_question_mark_before_the_use_leaks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            let v = fetch(&ctx)?;
            cancel.cancel();
            Ok(v)
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("this `?` can return from the function"));
        assert!(found[1].contains("the exit above is reached"));
    }

    #[test]
    fn every_leaking_exit_is_reported_and_the_binding_once() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            if a {
                return Ok(0);
            }
            let v = fetch(&ctx)?;
            if v > 10 {
                return Ok(10);
            }
            cancel.cancel();
            Ok(v)
        }));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("this return"), "{found:?}");
        assert!(found[1].starts_with("this `?`"), "{found:?}");
        assert!(found[2].starts_with("this return"), "{found:?}");
        assert!(
            found[3].contains("the exits above are reached"),
            "{found:?}"
        );
    }

    #[test]
    fn a_match_arm_that_ends_the_function_unused_leaks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            match fetch(&ctx) {
                Ok(v) => {
                    cancel.cancel();
                    v
                }
                Err(e) => {
                    log(e);
                    0
                }
            }
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("this match arm ends the function"),
            "{found:?}"
        );
    }

    #[test]
    fn an_if_without_else_that_ends_the_function_leaks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            work(&ctx);
            if done {
                cancel.cancel();
            }
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("when this condition is false, the function ends"),
            "{found:?}"
        );
    }

    #[test]
    fn a_use_only_on_some_paths_leaks_at_the_end() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            if fast {
                cancel.cancel();
            }
            work(&ctx);
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("the function can end here"),
            "{found:?}"
        );
    }

    #[test]
    fn a_loop_body_may_not_run() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            for job in jobs {
                cancel.cancel();
            }
            while waiting() {
                cancel.cancel();
            }
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("the function can end here"));
        // A `loop` left by a `break` after the use, or a `while true`.
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            loop {
                if ready() {
                    cancel.cancel();
                    break;
                }
            }
            let (ctx, c2) = context::with_cancel(&p);
            'outer: for a in xs {
                for b in ys {
                    if b {
                        c2.cancel();
                        break 'outer;
                    }
                }
            }
            let (ctx, c3) = context::with_cancel(&p);
            while true {
                if ready() {
                    c3.cancel();
                    break;
                }
            }
        }));
        // c2: the `for` may run zero times.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].contains("`c2` holds"), "{found:?}");
    }

    #[test]
    fn a_continue_or_break_out_of_the_block_leaks() {
        let found = errors(quote::quote!({
            for item in items {
                let (ctx, cancel) = context::with_cancel(&p);
                if skip(item) {
                    continue;
                }
                work(&ctx);
                cancel.cancel();
            }
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("this `continue` leaves the block that binds `cancel`"),
            "{found:?}"
        );
    }

    #[test]
    fn closures_async_blocks_macros_and_guards_are_uses() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            let stop = move || cancel.cancel();
            if x {
                return;
            }
            stop();
            let (ctx, c2) = context::with_cancel(&p);
            goro::go!(async move {
                c2.cancel();
            });
            fetch(&ctx)?;
            let (ctx, c3) = context::with_cancel(&p);
            let _guard = CancelOnDrop(c3);
            fetch(&ctx)?;
            let (ctx, c4) = context::with_cancel(&p);
            println!("{c4:?}");
            fetch(&ctx)?;
            let (ctx, c5) = context::with_cancel(&p);
            tracing::debug!(?c5);
            fetch(&ctx)?;
            let (ctx, c6) = context::with_cancel(&p);
            let s = Holder { c6 };
            return s;
        }));
        // `cancel`: the closure took it before the return.
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn returning_or_storing_the_cancel_function_is_a_use() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            if x {
                return Err((ctx, cancel));
            }
            self.cancel = Some(cancel);
            Ok(())
        }));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn panics_and_exits_are_not_leaks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            match state {
                A => cancel.cancel(),
                B => panic!("bad state"),
                C => unreachable!(),
                D => std::process::exit(1),
                E => loop {},
                F => todo!(),
            }
        }));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn returns_in_closures_leave_the_closure() {
        // The outer function's `cancel` is captured: a use. The closure's
        // own binding is checked against the closure's own return.
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            let f = || {
                if cancel.is_some() {
                    return 1;
                }
                2
            };
            let g = |x| {
                let (ctx, inner) = context::with_cancel(&p);
                if x {
                    return 1;
                }
                inner.cancel();
                2
            };
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("this return leaves the closure"),
            "{found:?}"
        );
        assert!(found[1].contains("`inner` holds"), "{found:?}");
    }

    #[test]
    fn nested_functions_are_their_own_units() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            fn helper(p: &Context) -> u32 {
                let (ctx, c) = context::with_cancel(p);
                if ctx.err().is_some() {
                    return 0;
                }
                c.cancel();
                1
            }
            cancel.cancel();
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("this return leaves the function"));
    }

    #[test]
    fn returns_and_question_marks_in_macros_are_not_seen() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            goro::select! {
                recv(ctx.done()) -> _ => return Err(Timeout),
                default => {}
            }
            try_it!(fetch(&ctx)?);
            cancel.cancel();
        }));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_shadowing_let_loses_a_partly_used_cancel_function() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            if x {
                cancel.cancel();
            }
            let cancel = 3;
            use_it(cancel);
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("this `let` shadows `cancel`"),
            "{found:?}"
        );
    }

    #[test]
    fn let_else_and_labelled_blocks() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            let Some(v) = get() else {
                cancel.cancel();
                return;
            };
            let r = 'found: {
                if v {
                    break 'found 1;
                }
                2
            };
            cancel.cancel();
            let (ctx, c2) = context::with_cancel(&p);
            let Some(v) = get() else {
                return;
            };
            c2.cancel();
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("this return leaves the function"));
        assert!(found[1].contains("`c2` holds"));
    }
}
