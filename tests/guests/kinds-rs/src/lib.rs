//! demo:kinds/roundtrip in Rust: every function echoes its argument (see ../kinds-py/wit).

wit_bindgen::generate!({ world: "kinds", path: "wit" });

use std::cell::Cell;

use exports::demo::kinds::roundtrip::{
    Color, Counter, CounterBorrow, ErrorCode, Event, Guest, GuestCounter, Perms, Shape,
};

struct Kinds;

/// The exported `counter` resource.
struct MyCounter {
    value: Cell<u32>,
}

impl GuestCounter for MyCounter {
    fn new(start: u32) -> Self {
        MyCounter { value: Cell::new(start) }
    }
    fn incr(&self, by: u32) -> u32 {
        self.value.set(self.value.get().wrapping_add(by));
        self.value.get()
    }
    fn get(&self) -> u32 {
        self.value.get()
    }
    fn zero() -> Counter {
        Counter::new(MyCounter::new(0))
    }
}

impl Guest for Kinds {
    type Counter = MyCounter;

    fn echo_bool(v: bool) -> bool { v }
    fn echo_s8(v: i8) -> i8 { v }
    fn echo_s16(v: i16) -> i16 { v }
    fn echo_s32(v: i32) -> i32 { v }
    fn echo_s64(v: i64) -> i64 { v }
    fn echo_u8(v: u8) -> u8 { v }
    fn echo_u16(v: u16) -> u16 { v }
    fn echo_u32(v: u32) -> u32 { v }
    fn echo_u64(v: u64) -> u64 { v }
    fn echo_f32(v: f32) -> f32 { v }
    fn echo_f64(v: f64) -> f64 { v }
    fn echo_char(v: char) -> char { v }
    fn echo_string(v: String) -> String { v }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> { v }
    fn echo_strings(v: Vec<String>) -> Vec<String> { v }
    fn echo_tuple(v: (u32, String)) -> (u32, String) { v }
    fn echo_shape(v: Shape) -> Shape { v }
    fn echo_event(v: Event) -> Event { v }
    fn echo_color(v: Color) -> Color { v }
    fn echo_perms(v: Perms) -> Perms { v }
    fn echo_option(v: Option<String>) -> Option<String> { v }
    fn echo_nested_option(v: Option<Option<u32>>) -> Option<Option<u32>> { v }

    fn lookup(name: String) -> Result<String, ErrorCode> {
        match name.as_str() {
            "" => Err(ErrorCode::NotFound),
            "root" => Err(ErrorCode::Denied),
            _ => Ok(name),
        }
    }

    fn check(fail: bool) -> Result<(), String> {
        if fail { Err("failed".to_string()) } else { Ok(()) }
    }

    fn describe(a: u32, b: String, c: Vec<u8>) -> String {
        let hex: String = c.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{a}|{b}|{hex}")
    }

    fn peek(c: CounterBorrow<'_>) -> u32 {
        c.get::<MyCounter>().get()
    }
}

export!(Kinds);
