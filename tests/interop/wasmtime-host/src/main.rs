//! Interop test host (issue 17): a wasmtime embedder that loads a plugin component the way
//! docs/components.md tells hosts to. It declares its world (the fixture's `wit/`, the same
//! WIT its bindings are generated from, plus the WASI 0.2 packages `wasmtime-wasi`
//! implements), runs plugpack's guard on the component, and only if the guard accepts it
//! instantiates it and calls `describe` and `area`.
//!
//! Usage: `plugpack-wasmtime-host [--no-guard] COMPONENT.wasm`
//!
//! Exit codes: 0 called; 2 usage; 3 refused by the guard (every reason on stderr, nothing
//! instantiated); 4 wasmtime failed (compile, link or call; `--no-guard` shows what wasmtime
//! itself says about a component the guard would refuse).

use std::process::ExitCode;

use camino::{Utf8Path, Utf8PathBuf};
use plugpack_core::guard::{AbiExpectation, check_file};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../../fixtures/component-plugin/wit",
});

use exports::plugpack::fixture::api::{Color, Point, Shape};
use plugpack::host::log::Level;

/// The host's world: the WIT its bindings come from (compiled in, like the bindings).
const HOST_WIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/component-plugin/wit"
);

/// The WASI 0.2 packages `wasmtime_wasi::p2::add_to_linker_sync` provides, at the version
/// wasmtime-wasi 48 implements (its `src/p2/wit/deps`).
const WASI: &[&str] = &[
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
];
const WASI_VERSION: &str = "0.2.12";

/// The store's data: WASI state, and what the plugin logged through the host's `log`.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    logged: Vec<String>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl plugpack::host::log::Host for State {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        };
        self.logged.push(format!("{level} {message}"));
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (guarded, path) = match args.as_slice() {
        [path] => (true, path),
        [flag, path] if flag == "--no-guard" => (false, path),
        _ => {
            eprintln!("usage: plugpack-wasmtime-host [--no-guard] COMPONENT.wasm");
            return ExitCode::from(2);
        }
    };
    let path = Utf8PathBuf::from(path);
    // The world's WIT at run time: `$PLUGPACK_HOST_WIT`, else where it was compiled from (a
    // binary cached from another checkout must not read a path that is gone).
    let host_wit = std::env::var("PLUGPACK_HOST_WIT").unwrap_or_else(|_| HOST_WIT.to_owned());
    if guarded {
        let host = match AbiExpectation::from_wit(Utf8Path::new(&host_wit), Some("plugin")) {
            Ok(host) => WASI.iter().fold(host, |host, package| {
                host.provide_package(package, WASI_VERSION)
            }),
            Err(e) => {
                eprintln!("cannot read the host's world {host_wit}: {e}");
                return ExitCode::from(2);
            }
        };
        match check_file(&path, &host) {
            Ok(ok) => println!("guard: accepted ({})", ok.detail),
            Err(refused) => {
                println!("guard: refused");
                for reason in &refused.reasons {
                    println!("reason: {reason}");
                }
                eprintln!("{refused}");
                return ExitCode::from(3);
            }
        }
    }
    match run(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("wasmtime: {e:#}");
            ExitCode::from(4)
        }
    }
}

/// Instantiates the component with WASI and the host's `log`, calls two exports and prints
/// what they return and what the plugin logged.
fn run(path: &Utf8Path) -> wasmtime::Result<()> {
    let engine = Engine::default();
    let component = Component::from_file(&engine, path)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    let state = State {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        logged: Vec::new(),
    };
    let mut store = Store::new(&engine, state);
    let plugin = Plugin::instantiate(&mut store, &component, &linker)?;
    let api = plugin.plugpack_fixture_api();
    let tags = ["a".to_owned(), "b".to_owned()];
    let described = api.call_describe(&mut store, Point { x: 3, y: -4 }, Color::Green, &tags)?;
    match described {
        Ok(text) => println!("describe: {text}"),
        Err(text) => println!("describe error: {text}"),
    }
    println!(
        "area circle(2): {}",
        api.call_area(&mut store, Shape::Circle(2))?
    );
    let rect = Shape::Rect((Point { x: 1, y: 1 }, Point { x: 4, y: 5 }));
    println!("area rect: {}", api.call_area(&mut store, rect)?);
    for line in &store.data().logged {
        println!("logged: {line}");
    }
    Ok(())
}
