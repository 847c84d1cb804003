//! The lostcancel lint: a `CancelFunc` that is thrown away or never used.
//!
//! goro follows Go: dropping a `CancelFunc` does not cancel, so a cancel
//! function that is never called leaks its context (and its timer) until the
//! parent is cancelled. `go vet` reports that; here it is a compile error of
//! the instrumented function. The check is syntactic and errs on the side of
//! silence: any mention of the name after the binding (in a closure, an async
//! block or a macro too) counts as a use, so it never rejects code that calls
//! the function; it catches `_`, `let _ = ..`, a discarded call, and a name
//! (`cancel` or `_cancel`) that is never mentioned again.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, Ident, Pat, Stmt};

use crate::args::Errors;

/// The `context` functions that return a `CancelFunc`.
const CANCELING: [&str; 3] = ["with_cancel", "with_timeout", "with_deadline"];

/// Checks every block of `body` (closures and async blocks included, nested
/// items excluded: they are not this function).
pub fn check(body: &Block, errors: &mut Errors) {
    Lint { errors }.visit_block(body);
}

struct Lint<'a> {
    errors: &'a mut Errors,
}

impl<'ast> Visit<'ast> for Lint<'_> {
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    fn visit_block(&mut self, block: &'ast Block) {
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        if let Some(func) = canceling_call(&init.expr) {
                            self.binding(&local.pat, &func, &block.stmts[i + 1..]);
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

impl Lint<'_> {
    fn binding(&mut self, pat: &Pat, func: &Ident, rest: &[Stmt]) {
        let pat = match pat {
            Pat::Type(t) => &*t.pat,
            p => p,
        };
        match pat {
            Pat::Wild(w) => self.errors.push(leak(
                w.span(),
                func,
                "bind the cancel function and call it on every path once the work is done:\n      \
                 let (ctx, cancel) = context::FUNC(..);\n      ..\n      cancel.cancel();",
            )),
            Pat::Tuple(t) if t.elems.len() == 2 => match &t.elems[1] {
                Pat::Wild(w) => self.errors.push(leak(
                    w.span(),
                    func,
                    "bind the cancel function instead of `_` and call it on every path once the \
                     work is done:\n      let (ctx, cancel) = context::FUNC(..);\n      ..\n      \
                     cancel.cancel();",
                )),
                Pat::Ident(p) if p.subpat.is_none() => self.unused(&p.ident, func, rest),
                _ => {}
            },
            // `let pair = with_cancel(..)`: only a name never mentioned again
            // is certainly lost.
            Pat::Ident(p) if p.subpat.is_none() => self.unused(&p.ident, func, rest),
            _ => {}
        }
    }

    fn unused(&mut self, name: &Ident, func: &Ident, rest: &[Stmt]) {
        if mentioned(name, rest) {
            return;
        }
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
        self.errors.push(leak(name.span(), func, &help));
    }
}

fn leak(span: proc_macro2::Span, func: &Ident, help: &str) -> syn::Error {
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

fn binds(pat: &Pat, name: &Ident) -> bool {
    has_ident(pat.to_token_stream(), name)
}

fn has_ident(tokens: TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == *name,
        TokenTree::Group(g) => has_ident(g.stream(), name),
        _ => false,
    })
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
    fn any_later_mention_is_a_use() {
        let found = errors(quote::quote!({
            let (ctx, cancel) = context::with_cancel(&p);
            goro::go!(async move { cancel.cancel() });
            let (ctx2, c2) = context::with_timeout(&ctx, d);
            let c2 = Guard(c2);
            let (_ctx3, c3) = context::with_cancel(&ctx2);
            if x {
                c3.cancel();
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
}
