#[goro::instrument(strategy = "exhaustive", dpor = "off")]
#[test]
async fn not_a_bool() {}

#[goro::test(strategy = "exhaustive", dpor = 0)]
async fn a_number() {}

#[goro::instrument(strategy = "pct", dpor = false)]
#[test]
async fn not_exhaustive() {}

#[goro::test(dpor = false)]
async fn no_strategy() {}

fn main() {}
