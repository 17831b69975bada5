//! `kaibo catalog import` and `export`, run as a process against a fresh SQLite data
//! directory, or a fresh PostgreSQL database when `KAIBO_TEST_DATABASE_URL` is set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use kaibo::catalog::model::{self, Product, Sku};
use kaibo::db::schema::{products, skus};
use kaibo::db::{DatabaseUrl, Pool, build_pool};
use sha2::{Digest, Sha256};

use crate::helpers::{create_postgres_database, drop_postgres_database, postgres_url};

/// One data directory (and PostgreSQL database, if testing against one) for the CLI.
struct Catalog {
    dir: tempfile::TempDir,
    database_url: DatabaseUrl,
    postgres: Option<(String, String)>,
}

/// What the catalog holds, to tell whether an import changed anything.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    products: usize,
    skus: usize,
    version: i64,
    checksum: String,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/csv/{name}", env!("CARGO_MANIFEST_DIR"))
}

impl Catalog {
    /// A catalog with a generated 500-SKU catalog (suppliers sup-00001 ...).
    fn generated() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, postgres) = match postgres_url() {
            Some(server) => {
                let (url, name) = create_postgres_database(&server);
                (DatabaseUrl::Postgres(url), Some((server, name)))
            }
            None => (
                DatabaseUrl::Sqlite(dir.path().join("data").join("kaibo.db")),
                None,
            ),
        };
        let catalog = Catalog {
            dir,
            database_url,
            postgres,
        };
        let out = catalog.run(&["catalog", "generate", "--skus", "500"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        catalog
    }

    fn run(&self, args: &[&str]) -> Output {
        let data = self.dir.path().join("data");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaibo"));
        command
            .args(args)
            .arg("--data")
            .arg(&data)
            .env_remove("DATABASE_URL")
            .env("KAIBO_LOG", "warn")
            .env("KAIBO_DEMO_CATALOG_SKUS", "0");
        if let DatabaseUrl::Postgres(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        command.output().expect("run kaibo")
    }

    fn import(&self, file: &str, supplier: &str, extra: &[&str]) -> Output {
        let mut args = vec!["catalog", "import", file, "--supplier", supplier];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pool(&self) -> Pool {
        build_pool(&self.database_url, 1).unwrap()
    }

    fn snapshot(&self) -> Snapshot {
        let pool = self.pool();
        let mut conn = pool.get().unwrap();
        let all_products: Vec<Product> = products::table
            .order(products::id)
            .select(Product::as_select())
            .load(&mut conn)
            .unwrap();
        let all_skus: Vec<Sku> = skus::table
            .order(skus::id)
            .select(Sku::as_select())
            .load(&mut conn)
            .unwrap();
        let mut hash = Sha256::new();
        for p in &all_products {
            hash.update(format!("{p:?}\n"));
        }
        for s in &all_skus {
            hash.update(format!("{s:?}\n"));
        }
        Snapshot {
            products: all_products.len(),
            skus: all_skus.len(),
            version: model::version(&mut conn).unwrap(),
            checksum: hex::encode(hash.finalize()),
        }
    }

    fn supplier_sku_count(&self, code: &str) -> usize {
        let pool = self.pool();
        let mut conn = pool.get().unwrap();
        let supplier = model::supplier_by_code(&mut conn, code).unwrap().unwrap();
        skus::table
            .filter(skus::supplier_id.eq(supplier.id))
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap() as usize
    }
}

impl Drop for Catalog {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            drop_postgres_database(server, name);
        }
    }
}

fn data_rows(csv: &Path) -> usize {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    reader.byte_records().count()
}

#[test]
fn a_good_file_imports_and_an_export_imports_back_unchanged() {
    let catalog = Catalog::generated();
    let generated = catalog.snapshot();
    let own = catalog.supplier_sku_count("sup-00001");

    let out = catalog.import(&fixture("good.csv"), "sup-00001", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .contains("4 product(s) added, 0 updated; 7 SKU(s) added, 0 updated; 0 row(s) skipped"),
        "{stdout}"
    );
    let imported = catalog.snapshot();
    assert_eq!(imported.skus, generated.skus + 7);
    assert_eq!(imported.products, generated.products + 4);
    assert!(imported.version > generated.version);

    // The same file again: nothing to do, nothing written.
    let out = catalog.import(&fixture("good.csv"), "sup-00001", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 product(s) added, 0 updated; 0 SKU(s) added, 0 updated"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(catalog.snapshot(), imported);

    // Changed values update in place (CRLF line ends, another column order and case).
    let out = catalog.import(&fixture("update.csv"), "sup-00001", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("0 product(s) added, 2 updated; 0 SKU(s) added, 2 updated; 0 row(s) skipped"),
        "{}",
        text(&out.stdout)
    );
    let updated = catalog.snapshot();
    assert_eq!(
        (updated.products, updated.skus),
        (imported.products, imported.skus)
    );
    assert!(updated.version > imported.version);
    {
        let pool = catalog.pool();
        let mut conn = pool.get().unwrap();
        let mut product = |r: &str| -> Product {
            products::table
                .filter(products::product_ref.eq(r))
                .select(Product::as_select())
                .first(&mut conn)
                .unwrap()
        };
        assert_eq!(product("KB-TEA-001").suggested_fen, 13_800);
        assert_eq!(product("KB-BAG-003").image_url, None);
        assert_eq!(product("KB-SNK-002").commission_bp, 2_550);
        let mut sku = |code: &str| -> Sku {
            skus::table
                .filter(skus::sku_code.eq(code))
                .select(Sku::as_select())
                .first(&mut conn)
                .unwrap()
        };
        assert_eq!(sku("KB-SNK-002-2").stock, 50);
        assert_eq!(
            sku("KB-SNK-002-1").stock,
            2000,
            "rows not in the file are kept"
        );
        assert_eq!(sku("KB-HOME-004-1").size.as_deref(), Some("50x70 cm"));
    }
    let imported = updated;

    // Export the supplier, import the export: counts and contents unchanged.
    let file = catalog.path("sup-00001.csv");
    let file_arg = file.to_string_lossy().to_string();
    let out = catalog.run(&[
        "catalog",
        "export",
        "--supplier",
        "sup-00001",
        "--out",
        &file_arg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = own + 7;
    assert!(
        text(&out.stdout).contains(&format!("Exported {rows} row(s)")),
        "{}",
        text(&out.stdout)
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFsupplier,product_ref,sku,title,"));
    assert_eq!(data_rows(&file), rows);
    let exported = text(&bytes);
    assert!(exported.contains("\"Mulberry silk, 22 momme.\nMachine washable in a laundry bag.\""));
    assert!(exported.contains("Sea Salt Mixed Nuts 每日坚果"));
    assert!(exported.contains(",green tea|longjing|spring,"));

    let out = catalog.import(&file_arg, "sup-00001", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 product(s) added, 0 updated; 0 SKU(s) added, 0 updated"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(catalog.snapshot(), imported);

    // One supplier's export is refused for another supplier, naming the lines.
    let out = catalog.import(&file_arg, "sup-00002", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 2, column supplier: the row is for supplier “sup-00001”, but this import is for “sup-00002”"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(catalog.snapshot(), imported);

    // Everything, to standard output.
    let out = catalog.run(&["catalog", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.starts_with(b"\xEF\xBB\xBFsupplier,"));
    let all = catalog.path("all.csv");
    std::fs::write(&all, &out.stdout).unwrap();
    assert_eq!(data_rows(&all), imported.skus);
    assert!(
        text(&out.stderr).contains(&format!("Exported {} row(s)", imported.skus)),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_broken_file_is_rejected_with_line_numbers_and_changes_nothing() {
    let catalog = Catalog::generated();
    let before = catalog.snapshot();

    let out = catalog.import(&fixture("broken.csv"), "sup-00003", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    for expected in [
        "line 3, column stock: stock cannot be negative: “-5”",
        "line 4, column cost: not a price: “abc”",
        "line 5, column category: unknown category “tea/rockets”",
        "line 6, column sku: SKU “KB-TEA-101-1” is already on line 2",
        "line 7, column min_price: the minimum price 25 is below the cost 30",
        "line 9, column title: must not be empty",
        "line 10: the row has 10 fields but the header has 12",
        "nothing was imported",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("line 2,"), "{stderr}");
    assert!(!stderr.contains("line 8,"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
    assert_eq!(catalog.snapshot(), before, "the database is unchanged");

    // --skip-invalid imports the valid rows: KB-TEA-101 with its first SKU, and KB-TEA-106.
    let out = catalog.import(&fixture("broken.csv"), "sup-00003", &["--skip-invalid"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .contains("2 product(s) added, 0 updated; 2 SKU(s) added, 0 updated; 7 row(s) skipped"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("line 4, column cost: not a price"),
        "the skipped rows are reported"
    );
    let after = catalog.snapshot();
    assert_eq!(after.skus, before.skus + 2);
    assert_eq!(after.products, before.products + 2);
}

#[test]
fn unknown_suppliers_and_utf16_files_are_explained() {
    let catalog = Catalog::generated();
    let before = catalog.snapshot();
    let out = catalog.import(&fixture("good.csv"), "sup-99999", &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown supplier `sup-99999`"), "{stderr}");
    assert!(stderr.contains("kaibo catalog suppliers"), "{stderr}");
    let out = catalog.run(&["catalog", "export", "--supplier", "sup-99999"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("kaibo catalog suppliers"));

    // Excel's "Unicode Text" is UTF-16: say so, and how to fix it.
    let good = std::fs::read_to_string(fixture("good.csv")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in good.trim_start_matches('\u{feff}').encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let file = catalog.path("utf16.csv");
    std::fs::write(&file, utf16).unwrap();
    let out = catalog.import(&file.to_string_lossy(), "sup-00001", &["--skip-invalid"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 1: the file is UTF-16 text; save it as UTF-8"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let out = catalog.import("/no/such/file.csv", "sup-00001", &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read /no/such/file.csv"));
    assert_eq!(catalog.snapshot(), before);
}
