//! The main pages of Kaibo with real data behind them, for the tests that look at every
//! page at once (accessibility, page weight, no inline script, keyboard use).
//!
//! Two apps: the bundled course (`courses/`) for the learning pages, with a trainee who
//! read a lesson and failed then passed the first quiz, and an instructor reading the
//! cohort; and a creator's shop (`shop_fixture`, sandbox course and a generated catalog)
//! for the selling pages, after a sandbox show at 60× has run to its end, with a supplier
//! account managing the supplier of the first showcase product. The shop is then made
//! live, so a buyer with no account browses it and has an item in the cart at checkout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use diesel::prelude::*;
use fantoccini::Client;
use kaibo::accounts::domain::{Email, Role};
use kaibo::accounts::users;
use kaibo::courses::model::Course;
use kaibo::db::schema::suppliers;
use kaibo::orders::{Mode, shop};

use crate::browser::{Driver, log_in_to, open_browser};
use crate::courses::{answers, submit};
use crate::helpers::*;
use crate::shop_fixture::{ShopFixture, shop_fixture};

/// The bundled course (`courses/first-live-sale`), as the app loads it.
pub fn bundled_course() -> Course {
    kaibo::courses::loader::load_course(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("courses/first-live-sale"),
    )
    .course
    .expect("the bundled course loads")
}

/// Who looks at a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    Trainee,
    Instructor,
    /// A trainee with a shop, a showcase and a show behind them.
    Creator,
    Supplier,
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Anonymous => "anonymous",
            Who::Trainee => "trainee",
            Who::Instructor => "instructor",
            Who::Creator => "creator",
            Who::Supplier => "supplier",
        }
    }

    /// Where the login form sends this role.
    pub fn home(self) -> &'static str {
        match self {
            Who::Anonymous => "/",
            Who::Trainee | Who::Creator => "/learn",
            Who::Instructor => "/instructor",
            Who::Supplier => "/supplier",
        }
    }
}

/// A person viewing a page: nobody, or an account with its email and the test password.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub who: Who,
    pub email: Option<String>,
    pub password: &'static str,
}

impl Viewer {
    fn anonymous() -> Self {
        Viewer {
            who: Who::Anonymous,
            email: None,
            password: PASSWORD,
        }
    }

    fn account(who: Who, email: &str) -> Self {
        Viewer {
            who,
            email: Some(email.to_string()),
            password: PASSWORD,
        }
    }
}

/// A cookie the viewer's browser holds for the page (the shop's cart).
#[derive(Debug, Clone)]
pub struct PageCookie {
    pub name: String,
    pub path: String,
    /// The whole `Set-Cookie` value, for an HTTP client's cookie jar.
    pub set_cookie: String,
}

/// One main page: its name, the app serving it, who views it and its path.
pub struct MainPage<'a> {
    pub name: &'static str,
    pub app: &'a TestApp,
    pub viewer: Viewer,
    pub path: String,
    pub cookies: Vec<PageCookie>,
}

pub struct MainPages {
    /// The bundled course: login, dashboard, lesson, quiz, quiz result, cohort.
    pub course_app: TestApp,
    pub course: Course,
    pub trainee_email: String,
    pub instructor_email: String,
    pub lesson_path: String,
    pub quiz_path: String,
    pub result_path: String,
    pub cohort_path: String,
    /// The creator's shop: selection, studio, report, shop, checkout, supplier portal.
    pub shop: ShopFixture,
    pub show_id: i64,
    pub supplier_email: String,
    pub cart_cookie: PageCookie,
}

/// Sets everything up; `pages()` then lists the main pages.
pub async fn main_pages() -> MainPages {
    let (course_side, shop_side) = tokio::join!(course_side(), shop_side());
    let (course_app, course, trainee_email, instructor_email, lesson_path, quiz_path, result_path) =
        course_side;
    let (shop, show_id, supplier_email, cart_cookie) = shop_side;
    let cohort_path = format!("/instructor/courses/{}/progress", course.slug);
    MainPages {
        course_app,
        course,
        trainee_email,
        instructor_email,
        lesson_path,
        quiz_path,
        result_path,
        cohort_path,
        shop,
        show_id,
        supplier_email,
        cart_cookie,
    }
}

type CourseSide = (TestApp, Course, String, String, String, String, String);

async fn course_side() -> CourseSide {
    let app = spawn_app().await;
    let course = bundled_course();
    let first = &course.modules[0];
    let trainee_email = app.create_user(Role::Trainee);
    let trainee = new_client();
    let r = app.login_with(&trainee, &trainee_email, PASSWORD).await;
    assert_eq!(r.status(), 303, "trainee logs in");
    let lesson_path = format!(
        "/courses/{}/{}/{}",
        course.slug, first.slug, first.lessons[0].slug
    );
    app.get_html_with(&trainee, &lesson_path).await;
    let r = app
        .post_form_with(&trainee, &format!("{lesson_path}/complete"), &[])
        .await;
    assert_eq!(r.status(), 303, "lesson completed");
    let quiz_path = format!("/courses/{}/{}/quiz", course.slug, first.slug);
    // A failed attempt (its result page has every explanation), then a pass.
    let r = submit(
        &app,
        &trainee,
        &quiz_path,
        &answers(&course, &first.slug, false),
    )
    .await;
    assert_eq!(r.status(), 303, "quiz submitted");
    let result_path = location(&r);
    assert!(
        result_path.starts_with(&format!("{quiz_path}/attempts/")),
        "{result_path}"
    );
    let r = submit(
        &app,
        &trainee,
        &quiz_path,
        &answers(&course, &first.slug, true),
    )
    .await;
    assert_eq!(r.status(), 303, "quiz passed");
    // The next module's first lesson opened, so the dashboard has somewhere to continue.
    let second = &course.modules[1];
    app.get_html_with(
        &trainee,
        &format!(
            "/courses/{}/{}/{}",
            course.slug, second.slug, second.lessons[0].slug
        ),
    )
    .await;
    let instructor_email = app.create_user(Role::Instructor);
    (
        app,
        course,
        trainee_email,
        instructor_email,
        lesson_path,
        quiz_path,
        result_path,
    )
}

async fn shop_side() -> (ShopFixture, i64, String, PageCookie) {
    let f = shop_fixture(Mode::Sandbox, 3).await;
    // The same scripted show as the live tests (seed 7): pin, a flash deal, two answers.
    let show_id = crate::live::scripted_show(&f, 7).await;

    // A supplier account that manages the first product's supplier, with the show's
    // orders routed to it.
    let supplier_email = f.app.create_user(Role::Supplier);
    {
        let mut conn = f.app.pool.get().unwrap();
        let uid = users::find_by_email(&mut conn, &Email::parse(&supplier_email).unwrap())
            .unwrap()
            .unwrap()
            .id;
        diesel::update(suppliers::table.find(f.products[0].supplier_id))
            .set(suppliers::user_id.eq(Some(uid)))
            .execute(&mut conn)
            .unwrap();
        // Graduated: the shop is public, so a buyer needs no account.
        shop::set_mode(&mut conn, f.creator_id, Mode::Live, f.app.clock_now()).unwrap();
    }

    // A buyer's cart with one unit of the first product, as the product page adds it.
    let buyer = new_client();
    let p = &f.products[0];
    let html = f
        .app
        .get_html_with(
            &buyer,
            &format!("/shop/{}/products/{}", f.handle, p.product_id),
        )
        .await;
    let r = buyer
        .post(f.app.url(&format!("/shop/{}/cart", f.handle)))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("sku_id", &p.sku_id.to_string()),
            ("quantity", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "added to the cart");
    let set_cookie = set_cookie(&r, "kaibo_cart").expect("cart cookie");
    let pair = set_cookie.split(';').next().unwrap();
    let (name, _) = pair.split_once('=').unwrap();
    let path = set_cookie
        .split(';')
        .map(str::trim)
        .find_map(|a| a.strip_prefix("Path="))
        .unwrap_or("/")
        .to_string();
    let cart_cookie = PageCookie {
        name: name.to_string(),
        path,
        set_cookie: set_cookie.clone(),
    };
    (f, show_id, supplier_email, cart_cookie)
}

impl MainPages {
    /// Every main page, in the order a reader meets them.
    pub fn pages(&self) -> Vec<MainPage<'_>> {
        let course = &self.course_app;
        let shop = &self.shop.app;
        let trainee = Viewer::account(Who::Trainee, &self.trainee_email);
        let instructor = Viewer::account(Who::Instructor, &self.instructor_email);
        let creator = Viewer::account(Who::Creator, &self.shop.creator_email);
        let supplier = Viewer::account(Who::Supplier, &self.supplier_email);
        let handle = &self.shop.handle;
        let page = |name, app, viewer: &Viewer, path: String| MainPage {
            name,
            app,
            viewer: viewer.clone(),
            path,
            cookies: Vec::new(),
        };
        vec![
            page("login", course, &Viewer::anonymous(), "/login".into()),
            page("dashboard", course, &trainee, "/learn".into()),
            page("lesson", course, &trainee, self.lesson_path.clone()),
            page("quiz", course, &trainee, self.quiz_path.clone()),
            page("quiz result", course, &trainee, self.result_path.clone()),
            page("cohort", course, &instructor, self.cohort_path.clone()),
            page("selection", shop, &creator, "/selection".into()),
            page("studio", shop, &creator, "/studio".into()),
            page(
                "show report",
                shop,
                &creator,
                format!("/studio/shows/{}/report", self.show_id),
            ),
            page(
                "shop",
                shop,
                &Viewer::anonymous(),
                format!("/shop/{handle}"),
            ),
            MainPage {
                cookies: vec![self.cart_cookie.clone()],
                ..page(
                    "checkout",
                    shop,
                    &Viewer::anonymous(),
                    format!("/shop/{handle}/checkout"),
                )
            },
            page("supplier portal", shop, &supplier, "/supplier".into()),
            page(
                "supplier orders",
                shop,
                &supplier,
                "/supplier/orders".into(),
            ),
        ]
    }

    /// The main pages grouped by who views them (same app, same account, same cookies),
    /// in order: one login per group keeps within the login throttle (a few attempts per
    /// account and per address a minute), as one person browsing would.
    pub fn by_viewer(&self) -> Vec<Vec<MainPage<'_>>> {
        let mut groups: Vec<Vec<MainPage<'_>>> = Vec::new();
        for page in self.pages() {
            let key = |p: &MainPage<'_>| {
                (
                    p.app.address.clone(),
                    p.viewer.email.clone(),
                    p.cookies.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                )
            };
            match groups.iter_mut().find(|g| key(&g[0]) == key(&page)) {
                Some(group) => group.push(page),
                None => groups.push(vec![page]),
            }
        }
        groups
    }

    pub fn page(&self, name: &str) -> MainPage<'_> {
        self.pages()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no main page {name}"))
    }
}

impl MainPage<'_> {
    pub fn url(&self) -> String {
        self.app.url(&self.path)
    }

    /// An HTTP client as this page's viewer: logged in, with the page's cookies.
    pub async fn http_client(&self) -> reqwest::Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        if let Some(email) = &self.viewer.email {
            let r = self
                .app
                .login_with(&client, email, self.viewer.password)
                .await;
            assert_eq!(r.status(), 303, "{} logs in", self.viewer.who.as_str());
        }
        let base: url::Url = self.app.address.parse().unwrap();
        for c in &self.cookies {
            jar.add_cookie_str(&c.set_cookie, &base.join(&c.path).unwrap());
        }
        client
    }

    /// A phone-sized browser in `language` as this page's viewer (logged in through the
    /// login form, with the page's cookies), not yet on the page.
    pub async fn browser(&self, driver: &Driver, chromium: &Path, language: &str) -> Client {
        let browser = open_browser(driver, chromium, language).await;
        if let Some(email) = &self.viewer.email {
            log_in_to(&browser, self.app, email, self.viewer.who.home()).await;
        }
        if !self.cookies.is_empty() {
            // Cookies can only be set for the site the browser is on.
            if browser.current_url().await.unwrap().origin()
                != url::Url::parse(&self.app.address).unwrap().origin()
            {
                browser.goto(&self.app.url("/healthz")).await.unwrap();
            }
            for c in &self.cookies {
                // As the server set it (path, HttpOnly, SameSite), for this host.
                let mut cookie = fantoccini::cookies::Cookie::parse(c.set_cookie.clone())
                    .expect("a valid Set-Cookie");
                cookie.set_domain("127.0.0.1");
                browser.add_cookie(cookie).await.unwrap();
            }
        }
        browser
    }
}

/// chromedriver and chromium, or `None` when the browser tests are to be skipped here
/// (they are not installed and `KAIBO_REQUIRE_BROWSER` is unset).
pub fn browser_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    match crate::browser::browser_tools() {
        Some(tools) => Some(tools),
        None => {
            assert!(
                std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
                "chromium is not installed, but KAIBO_REQUIRE_BROWSER is set"
            );
            eprintln!("SKIPPED {test}: chromium and chromedriver are not installed");
            None
        }
    }
}
