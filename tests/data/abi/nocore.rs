#![feature(no_core, lang_items)]
#![no_core]
#![allow(internal_features)]
#[lang = "pointee_sized"] pub trait PointeeSized {}
#[lang = "meta_sized"] pub trait MetaSized: PointeeSized {}
#[lang = "sized"] pub trait Sized: MetaSized {}
#[lang = "copy"] pub trait Copy {}
impl Copy for i32 {}
#[lang = "sync"] pub unsafe trait Sync {}
unsafe impl Sync for i32 {}
#[unsafe(no_mangle)]
pub extern "C" fn plugin_answer(x: i32) -> i32 { x }
#[unsafe(no_mangle)]
pub static PLUGIN_DATA: i32 = 7;
#[lang = "drop_glue"]
#[allow(unconditional_recursion)]
pub unsafe fn drop_in_place<T: PointeeSized>(_: *mut T) {}
