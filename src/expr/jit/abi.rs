//! The ABI between Rust and generated condition code, and all of the JIT's `unsafe`: the
//! slot layout and its tags, the arena `lower` writes into, the `extern "C"` helpers the code
//! calls, and `JitCondition`, which owns a compiled module and calls into it.

use super::codegen::{calls_lower, generate, host_isa};
use crate::expr::ast::FieldPath;
use crate::expr::check::{CheckedExpr, CompareOp, Node};
use crate::expr::interp::{Val, semantics};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use serde_json::Value;
use std::borrow::Cow;
use std::mem::MaybeUninit;

pub(super) const TAG_NULL: u64 = 0;
pub(super) const TAG_BOOL: u64 = 1;
pub(super) const TAG_NUMBER: u64 = 2;
pub(super) const TAG_STRING: u64 = 3;
pub(super) const TAG_LIST: u64 = 4;
pub(super) const TAG_OBJECT: u64 = 5;

/// One input value in the layout the native code reads: a type tag and two payload words.
///
/// Bool: `word` is 0 or 1. Number: `word` holds the f64 bits. String: `word` is the UTF-8
/// pointer and `len` the byte length. List/Object: `word` points at the `serde_json::Value`
/// itself (and `len` is the list length). Null and missing are tag 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) tag: u64,
    pub(super) word: u64,
    pub(super) len: u64,
}

pub(super) const SLOT_SIZE: i32 = std::mem::size_of::<Slot>() as i32;

impl Slot {
    const NULL: Slot = Slot {
        tag: TAG_NULL,
        word: 0,
        len: 0,
    };

    /// Borrows `value` into a slot: no allocation, the slot is valid while `value` is.
    #[inline]
    pub(super) fn from_json(value: Option<&Value>) -> Slot {
        match value {
            None | Some(Value::Null) => Slot::NULL,
            Some(Value::Bool(b)) => Slot {
                tag: TAG_BOOL,
                word: u64::from(*b),
                len: 0,
            },
            Some(Value::Number(n)) => Slot {
                tag: TAG_NUMBER,
                word: n.as_f64().unwrap_or(f64::NAN).to_bits(),
                len: 0,
            },
            Some(Value::String(s)) => Slot {
                tag: TAG_STRING,
                word: s.as_ptr() as u64,
                len: s.len() as u64,
            },
            Some(list @ Value::Array(items)) => Slot {
                tag: TAG_LIST,
                word: list as *const Value as u64,
                len: items.len() as u64,
            },
            Some(object @ Value::Object(_)) => Slot {
                tag: TAG_OBJECT,
                word: object as *const Value as u64,
                len: 0,
            },
        }
    }

    /// Rebuilds the interpreter's view of a slot.
    ///
    /// # Safety
    /// The slot must come from `Slot::from_json`, a constant of a live `JitCondition`, or the
    /// current evaluation's `Arena`, and the data it points into must outlive `'a`.
    unsafe fn to_val<'a>(self) -> Val<'a> {
        match self.tag {
            TAG_BOOL => Val::Bool(self.word != 0),
            TAG_NUMBER => Val::Number(f64::from_bits(self.word)),
            TAG_STRING => {
                // SAFETY: per the contract, `word..word+len` is the UTF-8 of a live `str`.
                let bytes = unsafe {
                    std::slice::from_raw_parts(self.word as *const u8, self.len as usize)
                };
                // SAFETY: the bytes were a `str` when the slot was made.
                Val::Str(Cow::Borrowed(unsafe {
                    std::str::from_utf8_unchecked(bytes)
                }))
            }
            TAG_LIST | TAG_OBJECT => {
                // SAFETY: per the contract, `word` points at a live `serde_json::Value`.
                Val::from_json(Some(unsafe { &*(self.word as *const Value) }))
            }
            _ => Val::Null,
        }
    }
}

/// Bytes of lowered ASCII text one evaluation can hold without touching the heap.
const ARENA_INLINE: usize = 256;

/// Strings produced by `lower` during one evaluation; freed when the evaluation returns.
///
/// Lowered ASCII text that fits goes into `inline` (uninitialised until written, so creating
/// an arena costs nothing); anything else is allocated in `spill`.
pub(super) struct Arena {
    used: usize,
    inline: MaybeUninit<[u8; ARENA_INLINE]>,
    spill: Vec<String>,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            used: 0,
            inline: MaybeUninit::uninit(),
            spill: Vec::new(),
        }
    }

    /// Stores the lower-case form of `text`, returning a slot that borrows the arena.
    fn lower(&mut self, input: Slot, text: &str) -> Slot {
        if text.is_ascii() && text.len() <= ARENA_INLINE - self.used {
            if !text.bytes().any(|b| b.is_ascii_uppercase()) {
                return input;
            }
            // SAFETY: `used + text.len() <= ARENA_INLINE`, so the writes stay inside `inline`;
            // bytes before `used` are never rewritten, so earlier slots stay valid.
            let start = unsafe { self.inline.as_mut_ptr().cast::<u8>().add(self.used) };
            for (offset, byte) in text.bytes().enumerate() {
                // SAFETY: in bounds, as above.
                unsafe { start.add(offset).write(byte.to_ascii_lowercase()) };
            }
            self.used += text.len();
            return Slot {
                tag: TAG_STRING,
                word: start as u64,
                len: text.len() as u64,
            };
        }
        match semantics::lower_str(Cow::Borrowed(text)) {
            Cow::Borrowed(_) => input,
            Cow::Owned(lowered) => {
                let slot = Slot {
                    tag: TAG_STRING,
                    word: lowered.as_ptr() as u64,
                    len: lowered.len() as u64,
                };
                // The string's heap buffer does not move when `spill` grows.
                self.spill.push(lowered);
                slot
            }
        }
    }
}

type SlotsFn = unsafe extern "C" fn(*const Slot, *mut Arena) -> u8;
type RootFn = unsafe extern "C" fn(*const Value, *mut Arena) -> u8;

/// A condition compiled to native code, owning the module that holds the code.
pub(in crate::expr) struct JitCondition {
    from_slots: SlotsFn,
    from_root: RootFn,
    field_count: usize,
    /// False when the code never calls `af_lower`, so evaluations pass a null arena.
    uses_arena: bool,
    module: Option<JITModule>,
    /// The paths `from_root` looks up: the code holds pointers to these elements, so the
    /// slice is never resized and lives exactly as long as the code.
    _paths: Box<[FieldPath]>,
    /// The tree the code was generated from: the code reads its string and list constants
    /// in place, so it must live exactly as long as the code.
    _constants: Node,
}

// SAFETY: after `finalize_definitions` the module is never touched again except by `Drop`,
// which has exclusive access; the native function only reads its arguments and the
// immutable constants in `root`, so sharing or moving the condition across threads is sound.
unsafe impl Send for JitCondition {}
// SAFETY: see the `Send` impl; `eval` takes `&self` and mutates nothing shared.
unsafe impl Sync for JitCondition {}

impl Drop for JitCondition {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `function` is owned by `self` and is being dropped with it, so no
            // pointer into the module's code is called after this.
            unsafe { module.free_memory() };
        }
    }
}

/// Slots for this many fields live on the stack during `eval`; more use one Vec (`eval_root`
/// never needs either: its slots are in the generated function's own frame).
const INLINE_SLOTS: usize = 16;

impl JitCondition {
    /// Generates native code for `checked`.
    pub(in crate::expr) fn compile(checked: &CheckedExpr) -> Result<JitCondition, String> {
        let isa = host_isa()?;
        let root = checked.root.clone();
        let paths: Box<[FieldPath]> = checked.fields().into();
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let (from_slots, from_root) = match generate(&mut module, &root, &paths) {
            Ok(code) => code,
            Err(error) => {
                // SAFETY: nothing from this module was handed out.
                unsafe { module.free_memory() };
                return Err(error);
            }
        };
        // SAFETY: `generate` built `from_slots` with exactly the signature of `SlotsFn` and
        // `from_root` with that of `RootFn` (two pointers in, one i8 out, host convention).
        let (from_slots, from_root) = unsafe {
            (
                std::mem::transmute::<*const u8, SlotsFn>(from_slots),
                std::mem::transmute::<*const u8, RootFn>(from_root),
            )
        };
        Ok(JitCondition {
            from_slots,
            from_root,
            field_count: checked.fields().len(),
            uses_arena: calls_lower(&root),
            module: Some(module),
            _paths: paths,
            _constants: root,
        })
    }

    /// Fills the slots from `inputs` and runs the native code.
    #[inline]
    pub(in crate::expr) fn eval(&self, inputs: &[Option<&Value>]) -> bool {
        let fill = |index: usize| Slot::from_json(inputs.get(index).copied().flatten());
        if self.field_count <= INLINE_SLOTS {
            // Only the first `field_count` slots are written, and only those are read.
            let mut slots = MaybeUninit::<[Slot; INLINE_SLOTS]>::uninit();
            let first = slots.as_mut_ptr().cast::<Slot>();
            for index in 0..self.field_count {
                // SAFETY: `index < field_count <= INLINE_SLOTS`, inside the array.
                unsafe { first.add(index).write(fill(index)) };
            }
            self.run_slots(first)
        } else {
            let slots: Vec<Slot> = (0..self.field_count).map(fill).collect();
            self.run_slots(slots.as_ptr())
        }
    }

    /// Runs `from_slots` on `field_count` initialised slots at `slots`.
    #[inline]
    fn run_slots(&self, slots: *const Slot) -> bool {
        // SAFETY: `slots` holds `field_count` initialised slots borrowing the caller's inputs,
        // which outlive the call; the code reads only those slots, the constants in
        // `self._constants` and the arena, all alive for the call.
        self.with_arena(|arena| unsafe { (self.from_slots)(slots, arena) })
    }

    /// Runs the native code on `root`, which looks up every field itself.
    #[inline]
    pub(in crate::expr) fn eval_root(&self, root: &Value) -> bool {
        // SAFETY: `root` outlives the call; the code reads it only through `af_lookup` with
        // pointers into `self._paths`, plus the constants and the arena.
        self.with_arena(|arena| unsafe { (self.from_root)(root, arena) })
    }

    /// Calls `code` with a fresh arena for this evaluation, or with null when the code never
    /// calls `af_lower` (so the null pointer is never read).
    #[inline]
    fn with_arena(&self, code: impl FnOnce(*mut Arena) -> u8) -> bool {
        let result = if self.uses_arena {
            let mut arena = Arena::new();
            code(&mut arena)
        } else {
            code(std::ptr::null_mut())
        };
        result != 0
    }
}

pub(super) type BinaryHelper = extern "C" fn(u64, u64, u64, u64, u64, u64) -> u8;

/// Rebuilds two values from raw triples for a helper.
///
/// # Safety
/// Both triples must satisfy `Slot::to_val`'s contract for the duration of the helper call;
/// the generated code only passes slots, constants of the running condition, and arena
/// strings of the running evaluation.
unsafe fn pair<'a>(a: (u64, u64, u64), b: (u64, u64, u64)) -> (Val<'a>, Val<'a>) {
    let a = Slot {
        tag: a.0,
        word: a.1,
        len: a.2,
    };
    let b = Slot {
        tag: b.0,
        word: b.1,
        len: b.2,
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { (a.to_val(), b.to_val()) }
}

/// Defines `extern "C"` helpers that rebuild two values from their triples and decide
/// with the shared `semantics` functions.
macro_rules! binary_helpers {
    ($($name:ident => |$a:ident, $b:ident| $decide:expr;)*) => {$(
        pub(super) extern "C" fn $name(at: u64, aw: u64, al: u64, bt: u64, bw: u64, bl: u64) -> u8 {
            // SAFETY: called only from generated code, which passes valid triples (see `pair`).
            let ($a, $b) = unsafe { pair((at, aw, al), (bt, bw, bl)) };
            u8::from($decide)
        }
    )*};
}

binary_helpers! {
    af_equal => |a, b| semantics::equal(&a, &b);
    af_member => |needle, list| semantics::member(&needle, &list);
    af_contains => |haystack, needle| semantics::contains(&haystack, &needle);
    af_starts_with => |s, prefix| semantics::starts_with(&s, &prefix);
    af_ends_with => |s, suffix| semantics::ends_with(&s, &suffix);
    af_less => |a, b| semantics::order(CompareOp::Lt, &a, &b);
    af_less_equal => |a, b| semantics::order(CompareOp::Le, &a, &b);
    af_greater => |a, b| semantics::order(CompareOp::Gt, &a, &b);
    af_greater_equal => |a, b| semantics::order(CompareOp::Ge, &a, &b);
}

/// `semantics::lower_affix` on two triples (`AT_START`: a prefix, else a suffix), reading
/// strings in place (the common case) rather than rebuilding interpreter values.
pub(super) extern "C" fn af_lower_affix<const AT_START: bool>(
    at: u64,
    aw: u64,
    al: u64,
    bt: u64,
    bw: u64,
    bl: u64,
) -> u8 {
    if at != TAG_STRING || bt != TAG_STRING {
        // `lower` of a non-string is null; a non-string affix never matches.
        return 0;
    }
    // SAFETY: called only from generated code, which passes valid triples (see `pair`); a
    // string triple is the pointer and byte length of a live `str`.
    let (s, affix) = unsafe {
        (
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(aw as *const u8, al as usize)),
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(bw as *const u8, bl as usize)),
        )
    };
    u8::from(semantics::lower_affix_str(s, affix, AT_START))
}

pub(super) extern "C" fn af_lookup(root: *const Value, path: *const FieldPath, out: *mut Slot) {
    // SAFETY: `root` is the `&Value` that `JitCondition::eval_root` passed in, alive for the
    // call; `path` points into the condition's `_paths`, which outlive its code.
    let value = unsafe { (*path).lookup(&*root, 0) };
    // SAFETY: `out` is a 24-byte, 8-aligned stack slot of the generated function.
    unsafe { out.write(Slot::from_json(value)) };
}

pub(super) extern "C" fn af_bytes_eq(a: *const u8, b: *const u8, len: usize) -> u8 {
    // SAFETY: generated code calls this only after checking that the slot is a string of
    // exactly `len` bytes and `b` is a constant string of the same length.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, len),
            std::slice::from_raw_parts(b, len),
        )
    };
    u8::from(a == b)
}

pub(super) extern "C" fn af_lower(
    arena: *mut Arena,
    tag: u64,
    word: u64,
    len: u64,
    out: *mut Slot,
) {
    let input = Slot { tag, word, len };
    // SAFETY: the triple is valid for this evaluation (see `pair`).
    let result = match unsafe { input.to_val() } {
        // SAFETY: `arena` is the `&mut Arena` that `JitCondition::eval` passed in for this
        // call and nothing else refers to it while the helper runs.
        Val::Str(text) => unsafe { (*arena).lower(input, &text) },
        _ => Slot::NULL,
    };
    // SAFETY: `out` is a 24-byte, 8-aligned stack slot of the generated function.
    unsafe { out.write(result) };
}

pub(super) extern "C" fn af_len(tag: u64, word: u64, len: u64) -> f64 {
    // SAFETY: the triple is valid for this evaluation (see `pair`).
    match semantics::len(&unsafe { Slot { tag, word, len }.to_val() }) {
        Val::Number(n) => n,
        _ => f64::NAN,
    }
}
