//! Decoding a component's WIT world, or a host's WIT files, into a `detail: wit` document
//! (feature `component`: `wit-parser`). The canonical form is described in
//! [`super::component`].

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner,
    WorldId, WorldItem, WorldKey,
};

use super::component::{WitItem, WitType, WitTypeItem, WitWorld, unversioned};
use super::{AbiFingerprint, Detail, Error, Format, Platform, SCHEMA, Symbol, SymbolKind};
use crate::types::Sha256Digest;

/// Fingerprints component bytes (`path` names the file in errors). Unlike core modules,
/// a component is decoded from memory: `wit-parser` needs its type sections whole, and they
/// follow the embedded core modules, so the file is read in full (components are the
/// plugin's own code and its world, not debuginfo-heavy libraries).
pub(crate) fn read(path: &Utf8Path, bytes: &[u8]) -> Result<AbiFingerprint, Error> {
    let decoded = wit_parser::decoding::decode(bytes).map_err(|e| Error::Malformed {
        path: path.to_owned(),
        format: "wasm component",
        reason: format!("{e:#}"),
    })?;
    match decoded {
        wit_parser::decoding::DecodedWasm::Component(resolve, world) => {
            Ok(describe(&resolve, world))
        }
        wit_parser::decoding::DecodedWasm::WitPackage(..) => Err(Error::Unsupported {
            path: path.to_owned(),
            reason: "a WIT package encoded as wasm, not a component".to_owned(),
        }),
    }
}

/// Describes a host's world from WIT: a `.wit` file or a directory (with its `deps/`), as
/// `wit-bindgen` and `wasmtime::component::bindgen!` read it. `world` picks one when the
/// package defines several.
pub fn describe_wit(path: &Utf8Path, world: Option<&str>) -> Result<AbiFingerprint, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Malformed {
        path: path.to_owned(),
        format: "WIT",
        reason: format!("{e:#}"),
    };
    if !path.exists() {
        return Err(Error::Read {
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_path(path.as_std_path()).map_err(|e| bad(&e))?;
    let world = resolve
        .select_world(&[package], world)
        .map_err(|e| bad(&e))?;
    Ok(describe(&resolve, world))
}

/// Builds the document of `world`.
pub(crate) fn describe(resolve: &Resolve, world: WorldId) -> AbiFingerprint {
    let w = &resolve.worlds[world];
    let world_name = match w.package {
        Some(p) => {
            let pkg = &resolve.packages[p].name;
            let version = pkg.version.as_ref().map(|v| format!("@{v}"));
            format!(
                "{}:{}/{}{}",
                pkg.namespace,
                pkg.name,
                w.name,
                version.unwrap_or_default()
            )
        }
        None => w.name.clone(),
    };
    let mut r = Render {
        resolve,
        world_name: world_name.clone(),
        names: BTreeMap::new(),
        types: BTreeMap::new(),
    };
    // Interface names as the world spells them (an unnamed interface by its key).
    for (key, item) in w.imports.iter().chain(&w.exports) {
        if let WorldItem::Interface { id, .. } = item {
            r.names.insert(*id, resolve.name_world_key(key));
        }
    }
    let (mut imports, mut import_items) = (Vec::new(), Vec::new());
    for (key, item) in &w.imports {
        r.item(key, item, &mut imports, &mut import_items);
    }
    let (mut exports, mut export_items) = (Vec::new(), Vec::new());
    for (key, item) in &w.exports {
        r.item(key, item, &mut exports, &mut export_items);
    }
    import_items.sort_by(|a, b| a.name.cmp(&b.name));
    export_items.sort_by(|a, b| a.name.cmp(&b.name));
    imports.sort_by(|a: &Symbol, b| a.name.cmp(&b.name));
    exports.sort_by(|a: &Symbol, b| a.name.cmp(&b.name));
    let mut doc = AbiFingerprint {
        schema: SCHEMA.to_owned(),
        package: None,
        target: None,
        format: Format::Component,
        architecture: "wasm32".to_owned(),
        pointer_width: 32,
        endianness: "little".to_owned(),
        detail: Detail::Wit,
        notes: Vec::new(),
        exports,
        imports,
        types: BTreeMap::new(),
        platform: Platform::default(),
        api: None,
        wit: Some(WitWorld {
            world: world_name,
            imports: import_items,
            exports: export_items,
            types: r.types,
        }),
        fingerprint: Sha256Digest::from_bytes([0; 32]),
    };
    doc.seal();
    doc
}

struct Render<'a> {
    resolve: &'a Resolve,
    world_name: String,
    /// Interface → its name in the world (with version).
    names: BTreeMap<InterfaceId, String>,
    types: BTreeMap<String, WitType>,
}

impl Render<'_> {
    fn interface_name(&self, id: InterfaceId) -> String {
        self.names
            .get(&id)
            .cloned()
            .or_else(|| self.resolve.id_of(id))
            .unwrap_or_else(|| "<anonymous interface>".to_owned())
    }

    /// `pkg:ns/iface#name` (unversioned) of a named type; `None` for an anonymous one.
    fn type_key(&self, id: TypeId) -> Option<String> {
        let def = &self.resolve.types[id];
        let name = def.name.as_ref()?;
        let owner = match def.owner {
            TypeOwner::Interface(i) => self.interface_name(i),
            TypeOwner::World(_) | TypeOwner::None => self.world_name.clone(),
        };
        Some(format!("{}#{name}", unversioned(&owner)))
    }

    fn owner_of(&self, id: TypeId) -> Option<String> {
        match self.resolve.types[id].owner {
            TypeOwner::Interface(i) => Some(unversioned(&self.interface_name(i))),
            TypeOwner::World(_) | TypeOwner::None => Some(unversioned(&self.world_name)),
        }
    }

    /// A type as WIT spells it, seen from the interface `scope` (unversioned name).
    fn ty(&self, t: &Type, scope: &str) -> String {
        match t {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::Id(id) => self.id(*id, scope),
        }
    }

    fn id(&self, id: TypeId, scope: &str) -> String {
        let def = &self.resolve.types[id];
        if let Some(name) = &def.name {
            return match self.owner_of(id) {
                Some(owner) if owner == scope => name.clone(),
                _ => self.type_key(id).unwrap_or_else(|| name.clone()),
            };
        }
        self.anonymous(&def.kind, scope)
    }

    fn opt(&self, t: Option<&Type>, scope: &str) -> String {
        t.map_or_else(|| "_".to_owned(), |t| self.ty(t, scope))
    }

    fn anonymous(&self, kind: &TypeDefKind, scope: &str) -> String {
        match kind {
            TypeDefKind::List(t) => format!("list<{}>", self.ty(t, scope)),
            TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", self.ty(t, scope)),
            TypeDefKind::Map(k, v) => format!("map<{}, {}>", self.ty(k, scope), self.ty(v, scope)),
            TypeDefKind::Option(t) => format!("option<{}>", self.ty(t, scope)),
            TypeDefKind::Result(r) => match (&r.ok, &r.err) {
                (None, None) => "result".to_owned(),
                (Some(ok), None) => format!("result<{}>", self.ty(ok, scope)),
                (ok, Some(err)) => {
                    format!(
                        "result<{}, {}>",
                        self.opt(ok.as_ref(), scope),
                        self.ty(err, scope)
                    )
                }
            },
            TypeDefKind::Tuple(t) => format!(
                "tuple<{}>",
                t.types
                    .iter()
                    .map(|t| self.ty(t, scope))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TypeDefKind::Handle(Handle::Own(r)) => self.id(*r, scope),
            TypeDefKind::Handle(Handle::Borrow(r)) => format!("borrow<{}>", self.id(*r, scope)),
            TypeDefKind::Future(t) => match t {
                Some(t) => format!("future<{}>", self.ty(t, scope)),
                None => "future".to_owned(),
            },
            TypeDefKind::Stream(t) => match t {
                Some(t) => format!("stream<{}>", self.ty(t, scope)),
                None => "stream".to_owned(),
            },
            TypeDefKind::Type(t) => self.ty(t, scope),
            TypeDefKind::Record(_) => "record".to_owned(),
            TypeDefKind::Variant(_) => "variant".to_owned(),
            TypeDefKind::Enum(_) => "enum".to_owned(),
            TypeDefKind::Flags(_) => "flags".to_owned(),
            TypeDefKind::Resource => "resource".to_owned(),
            TypeDefKind::Unknown => "unknown".to_owned(),
        }
    }

    fn signature(&self, f: &Function, scope: &str) -> String {
        let params = f
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, self.ty(&p.ty, scope)))
            .collect::<Vec<_>>()
            .join(", ");
        let asynchronous = matches!(
            f.kind,
            FunctionKind::AsyncFreestanding
                | FunctionKind::AsyncMethod(_)
                | FunctionKind::AsyncStatic(_)
        );
        let mut s = format!("{}func({params})", if asynchronous { "async " } else { "" });
        if let Some(r) = &f.result {
            s.push_str(&format!(" -> {}", self.ty(r, scope)));
        }
        s
    }

    /// Named types reachable from `t`, described into `self.types` on the way.
    fn reach(&mut self, t: &Type, out: &mut BTreeSet<String>) {
        if let Type::Id(id) = t {
            self.reach_id(*id, out);
        }
    }

    fn reach_id(&mut self, id: TypeId, out: &mut BTreeSet<String>) {
        let def = &self.resolve.types[id];
        if let Some(key) = self.type_key(id) {
            if !out.insert(key.clone()) {
                return;
            }
        }
        let scope = self.owner_of(id).unwrap_or_default();
        let mut items = Vec::new();
        let mut nested: Vec<Type> = Vec::new();
        let kind = match &def.kind {
            TypeDefKind::Record(r) => {
                for f in &r.fields {
                    items.push((f.name.clone(), Some(self.ty(&f.ty, &scope))));
                    nested.push(f.ty);
                }
                "record"
            }
            TypeDefKind::Variant(v) => {
                for c in &v.cases {
                    items.push((c.name.clone(), c.ty.map(|t| self.ty(&t, &scope))));
                    nested.extend(c.ty);
                }
                "variant"
            }
            TypeDefKind::Enum(e) => {
                items.extend(e.cases.iter().map(|c| (c.name.clone(), None)));
                "enum"
            }
            TypeDefKind::Flags(f) => {
                items.extend(f.flags.iter().map(|c| (c.name.clone(), None)));
                "flags"
            }
            TypeDefKind::Resource => {
                let functions = self.resource_functions(id);
                for f in &functions {
                    items.push((f.name.clone(), Some(self.signature(f, &scope))));
                    nested.extend(f.params.iter().map(|p| p.ty));
                    nested.extend(f.result);
                }
                items.sort();
                "resource"
            }
            TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => {
                nested.push(*t);
                "type"
            }
            TypeDefKind::FixedLengthList(t, _) => {
                nested.push(*t);
                "type"
            }
            TypeDefKind::Map(k, v) => {
                nested.extend([*k, *v]);
                "type"
            }
            TypeDefKind::Result(r) => {
                nested.extend(r.ok);
                nested.extend(r.err);
                "type"
            }
            TypeDefKind::Tuple(t) => {
                nested.extend(t.types.iter().copied());
                "type"
            }
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                nested.push(Type::Id(*r));
                "type"
            }
            TypeDefKind::Future(t) | TypeDefKind::Stream(t) => {
                nested.extend(*t);
                "type"
            }
            TypeDefKind::Unknown => "type",
        };
        if let Some(key) = self.type_key(id) {
            if !self.types.contains_key(&key) {
                let body = items
                    .iter()
                    .map(|(n, t)| match (kind, t) {
                        ("record", Some(t)) => format!("{n}: {t}"),
                        ("resource", Some(t)) => format!("{n}: {t}"),
                        (_, Some(t)) => format!("{n}({t})"),
                        (_, None) => n.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let definition = if kind == "type" {
                    format!("type = {}", self.anonymous(&def.kind, &scope))
                } else {
                    format!("{kind} {{ {body} }}")
                };
                self.types.insert(
                    key,
                    WitType {
                        kind: kind.to_owned(),
                        items: items
                            .into_iter()
                            .map(|(name, ty)| WitTypeItem { name, ty })
                            .collect(),
                        definition,
                    },
                );
            }
        }
        for t in nested {
            self.reach(&t, out);
        }
    }

    /// The functions of resource `id` (constructor, methods, statics), from its owner.
    fn resource_functions(&self, id: TypeId) -> Vec<Function> {
        let functions: Vec<&Function> = match self.resolve.types[id].owner {
            TypeOwner::Interface(i) => self.resolve.interfaces[i].functions.values().collect(),
            TypeOwner::World(w) => self.resolve.worlds[w]
                .imports
                .values()
                .chain(self.resolve.worlds[w].exports.values())
                .filter_map(|item| match item {
                    WorldItem::Function(f) => Some(f),
                    _ => None,
                })
                .collect(),
            TypeOwner::None => Vec::new(),
        };
        functions
            .into_iter()
            .filter(|f| resource_of(f) == Some(id))
            .cloned()
            .collect()
    }

    /// Adds the symbols and the item of one world import or export.
    fn item(
        &mut self,
        key: &WorldKey,
        item: &WorldItem,
        symbols: &mut Vec<Symbol>,
        items: &mut Vec<WitItem>,
    ) {
        let (name, package, version, functions, types): (_, _, _, Vec<&Function>, Vec<TypeId>) =
            match item {
                WorldItem::Interface { id, .. } => {
                    let iface = &self.resolve.interfaces[*id];
                    let pkg = iface.package.map(|p| &self.resolve.packages[p].name);
                    (
                        self.resolve.name_world_key(key),
                        pkg.map(|p| format!("{}:{}", p.namespace, p.name)),
                        pkg.and_then(|p| p.version.as_ref().map(|v| v.to_string())),
                        iface.functions.values().collect(),
                        iface.types.values().copied().collect(),
                    )
                }
                WorldItem::Function(f) => (f.name.clone(), None, None, vec![f], Vec::new()),
                WorldItem::Type { .. } => return,
            };
        let scope = unversioned(&name);
        let mut lines = Vec::new();
        let mut function_names = Vec::new();
        for f in functions {
            let symbol = if matches!(item, WorldItem::Function(_)) {
                f.name.clone()
            } else {
                format!("{name}#{}", f.name)
            };
            let signature = self.signature(f, &scope);
            let mut reached = BTreeSet::new();
            for t in f.params.iter().map(|p| &p.ty).chain(&f.result) {
                self.reach(t, &mut reached);
            }
            let mut text = format!("{} function {signature}\n", unversioned(&symbol));
            for t in &reached {
                if let Some(def) = self.types.get(t) {
                    text.push_str(&format!("type {t} {}\n", def.definition));
                }
            }
            let sha256 = Sha256Digest::of_bytes(text.as_bytes());
            lines.push(format!("{} {sha256}", unversioned(&symbol)));
            function_names.push(symbol.clone());
            symbols.push(Symbol {
                name: symbol,
                kind: SymbolKind::Function,
                signature,
                size: None,
                types: reached.into_iter().collect(),
                detail: None,
                alias_of: None,
                note: None,
                sha256,
            });
        }
        let mut type_names = Vec::new();
        for id in types {
            let mut reached = BTreeSet::new();
            self.reach_id(id, &mut reached);
            if let Some(key) = self.type_key(id) {
                if let Some(def) = self.types.get(&key) {
                    lines.push(format!("type {key} {}", def.definition));
                }
                type_names.push(key);
            }
        }
        function_names.sort();
        type_names.sort();
        lines.sort();
        let sha256 = Sha256Digest::of_bytes(lines.join("\n").as_bytes());
        items.push(WitItem {
            name,
            package,
            version,
            functions: function_names,
            types: type_names,
            sha256,
        });
    }
}

fn resource_of(f: &Function) -> Option<TypeId> {
    match f.kind {
        FunctionKind::Method(id)
        | FunctionKind::AsyncMethod(id)
        | FunctionKind::Static(id)
        | FunctionKind::AsyncStatic(id)
        | FunctionKind::MethodGetter(id)
        | FunctionKind::MethodSetter(id)
        | FunctionKind::StaticGetter(id)
        | FunctionKind::StaticSetter(id)
        | FunctionKind::Constructor(id) => Some(id),
        _ => None,
    }
}
