//! The supplier portal through HTTP: the supplier record, CSV upload with the importer's
//! validation shown on the page (atomic unless bad rows are skipped), the download, and
//! that each supplier sees only its own catalog.

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::db::schema::skus;

use crate::helpers::*;
use crate::selection::{sandbox_app, unlock};

const HEADER: &str = "product_ref,sku,title,description,category,tags,image_url,cost,suggested_price,min_price,commission_percent,stock,weight_g,size,colour";

fn good_csv() -> String {
    format!(
        "{HEADER}\n\
         TEA-1,TEA-1-250,Zhangjiajie Mountain Oolong,Hand-rolled oolong from the mountains.,tea/tea,oolong|gift,,35.00,89.90,69.00,20,400,300,250g,\n\
         TEA-1,TEA-1-500,Zhangjiajie Mountain Oolong,Hand-rolled oolong from the mountains.,tea/tea,oolong|gift,,35.00,89.90,69.00,20,200,550,500g,\n\
         CUP-1,CUP-1-W,Celadon Tea Cup Set,Four celadon cups.,kitchen/tableware,cups,,40.00,99.00,79.00,15,80,900,,White\n"
    )
}

fn broken_csv() -> String {
    format!(
        "{HEADER}\n\
         NEW-1,NEW-1-A,Good Row Pot,Fine.,kitchen/cookware,pot,,40.00,99.00,79.00,15,80,900,,Black\n\
         NEW-2,NEW-2-A,Bad Price Pot,Bad.,kitchen/cookware,pot,,abc,99.00,79.00,15,80,900,,Black\n\
         NEW-3,NEW-3-A,Negative Stock Pot,Bad.,kitchen/cookware,pot,,40.00,99.00,79.00,15,-4,900,,Black\n"
    )
}

/// A multipart body as a browser sends the upload form.
fn multipart(csrf: Option<&str>, file: &str, skip_invalid: bool) -> (String, Vec<u8>) {
    let boundary = "----kaibo-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    if let Some(token) = csrf {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"catalog.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n"
    ));
    if skip_invalid {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"skip_invalid\"\r\n\r\n1\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    file: &str,
    skip_invalid: bool,
) -> (u16, String) {
    let token = app.csrf_with(client).await;
    let (content_type, body) = multipart(Some(&token), file, skip_invalid);
    let r = client
        .post(app.url("/supplier/catalog/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn sku_count(app: &TestApp) -> i64 {
    skus::table
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap()
}

async fn supplier_with_record(app: &TestApp, name: &str) -> reqwest::Client {
    let client = app.logged_in_as(Role::Supplier).await;
    let html = app
        .get_with(&client, "/supplier/catalog")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("name=\"region\""),
        "asks for supplier details first"
    );
    let r = app
        .post_form_with(
            &client,
            "/supplier/catalog/profile",
            &[
                ("name", name),
                ("region", "zhejiang"),
                ("handling_hours", "24"),
                ("return_days", "7"),
                ("return_policy", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    client
}

#[tokio::test]
async fn a_supplier_uploads_a_catalog_that_creators_then_find() {
    let app = sandbox_app(300).await;
    let supplier = supplier_with_record(&app, "Hunan Tea Garden").await;
    let before = sku_count(&app);
    let (status, html) = upload(&app, &supplier, &good_csv(), false).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("3 SKUs added"), "summary shown");
    assert_eq!(sku_count(&app), before + 3);
    // The index is rebuilt at once: a trainee finds the new product, typo and all.
    let trainee = app.logged_in_as(Role::Trainee).await;
    unlock(&app, &trainee, true).await;
    let html = app
        .get_with(&trainee, "/selection?q=zhangjiajie%20olong")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Zhangjiajie Mountain Oolong"));
    // Uploading the file again with one stock changed updates that SKU only.
    let changed = good_csv().replace(",400,300,250g", ",350,300,250g");
    let (status, html) = upload(&app, &supplier, &changed, false).await;
    assert_eq!(status, 200);
    assert!(html.contains("0 SKUs added, 1 updated"), "{html}");
    assert_eq!(sku_count(&app), before + 3);
    // The download holds the supplier's rows.
    let r = app
        .get_with(&supplier, "/supplier/catalog/export.csv")
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    assert!(csv.contains("TEA-1-500") && csv.contains("CUP-1-W"));
}

#[tokio::test]
async fn a_broken_upload_names_every_bad_row_and_changes_nothing() {
    let app = sandbox_app(300).await;
    let supplier = supplier_with_record(&app, "Yiwu Pots").await;
    let before = sku_count(&app);
    let (status, html) = upload(&app, &supplier, &broken_csv(), false).await;
    assert_eq!(status, 422);
    assert!(html.contains("was not imported"), "{html}");
    assert!(html.contains("line 3, column cost"), "{html}");
    assert!(html.contains("line 4, column stock"), "{html}");
    assert_eq!(sku_count(&app), before, "nothing landed");
    // The same errors in Chinese for a Chinese page.
    let token = app.csrf_with(&supplier).await;
    app.post_form_with(&supplier, "/lang", &[("lang", "zh-CN"), ("next", "/")])
        .await;
    let _ = token;
    let (status, html) = upload(&app, &supplier, &broken_csv(), false).await;
    assert_eq!(status, 422);
    assert!(html.contains("第 3 行"), "{html}");
    // Skipping bad rows imports the good one and lists the others.
    let (status, html) = upload(&app, &supplier, &broken_csv(), true).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(sku_count(&app), before + 1);
    assert!(html.contains("第 4 行"));
    // An empty upload, and one that is not CSV at all.
    let (status, _) = upload(&app, &supplier, "", false).await;
    assert_eq!(status, 422);
    let (status, html) = upload(&app, &supplier, "\u{feff}just some words\n", false).await;
    assert_eq!(status, 422);
    assert!(html.contains("第 1 行"), "{html}");
}

#[tokio::test]
async fn uploads_need_a_token_and_a_supplier_account() {
    let app = sandbox_app(100).await;
    let supplier = supplier_with_record(&app, "Token Test Co").await;
    let (content_type, body) = multipart(None, &good_csv(), false);
    let r = supplier
        .post(app.url("/supplier/catalog/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no token");
    let (content_type, body) = multipart(Some("forged"), &good_csv(), false);
    let r = supplier
        .post(app.url("/supplier/catalog/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "forged token");
    for role in [Role::Trainee, Role::Instructor, Role::Admin] {
        let client = app.logged_in_as(role).await;
        let (status, _) = upload(&app, &client, &good_csv(), false).await;
        assert_eq!(status, 403, "upload as {role:?}");
        assert_eq!(
            app.get_with(&client, "/supplier/catalog/export.csv")
                .await
                .status(),
            403
        );
        assert_eq!(
            app.get_with(&client, "/supplier/catalog").await.status(),
            403
        );
    }
    let before = sku_count(&app);
    assert_eq!(before, 100, "nothing was imported by the refused uploads");
}

#[tokio::test]
async fn each_supplier_sees_only_its_own_catalog() {
    let app = sandbox_app(100).await;
    let first = supplier_with_record(&app, "First Supplier").await;
    let second = supplier_with_record(&app, "Second Supplier").await;
    assert_eq!(upload(&app, &first, &good_csv(), false).await.0, 200);
    let theirs = app
        .get_with(&second, "/supplier/catalog/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !theirs.contains("TEA-1"),
        "another supplier's rows are not shown"
    );
    let page = app
        .get_with(&second, "/supplier/catalog")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Second Supplier") && !page.contains("First Supplier"));
    // The same SKU codes uploaded by the second supplier are its own products.
    assert_eq!(upload(&app, &second, &good_csv(), false).await.0, 200);
    let mine = app
        .get_with(&first, "/supplier/catalog/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        mine.matches("TEA-1-").count(),
        2,
        "still only the first's two tea SKUs"
    );
    // A second supplier record cannot be created for the same account.
    let r = app
        .post_form_with(
            &first,
            "/supplier/catalog/profile",
            &[
                ("name", "Renamed"),
                ("region", "hunan"),
                ("handling_hours", "24"),
                ("return_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app
        .get_with(&first, "/supplier/catalog")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("First Supplier"));
}

#[tokio::test]
async fn bad_supplier_details_are_named() {
    let app = sandbox_app(0).await;
    let client = app.logged_in_as(Role::Supplier).await;
    let r = app
        .post_form_with(
            &client,
            "/supplier/catalog/profile",
            &[
                ("name", "x"),
                ("region", "atlantis"),
                ("handling_hours", "5"),
                ("return_days", "99"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Enter a name of 2 to 80 characters."));
    assert_eq!(html.matches("Pick one of the options offered.").count(), 3);
}
