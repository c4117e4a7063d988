//! Rendering documents to PDF from Typst templates.
//!
//! A template is Typst source. It reads the document's data from the virtual file
//! `data.json` (`#let d = json("data.json")`), so data is never spliced into source text and
//! cannot inject markup. Templates see no other file: nothing on the server's disk, no
//! package, no network. Fonts are the ones bundled in the binary (Libertinus Serif, New
//! Computer Modern, DejaVu Sans Mono), so rendering downloads nothing.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Timelike, Utc};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

/// The virtual path of a template's data.
pub const DATA_FILE: &str = "data.json";

/// Why a document could not be rendered. Nothing is produced in that case.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template does not compile (syntax, an unknown field, a missing value…).
    #[error("template error{}: {message}", location.as_ref().map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default())]
    Template {
        /// Typst's message, with its hints.
        message: String,
        /// One-based line and column in the template, when the error is in it.
        location: Option<(usize, usize)>,
    },
    /// The data could not be serialised.
    #[error("the document data cannot be serialised: {0}")]
    Data(String),
    /// The PDF exporter failed.
    #[error("PDF export failed: {0}")]
    Export(String),
}

struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: FileId,
    data: FileId,
}

#[allow(clippy::expect_used)] // the two paths are constants
static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    let path = |p: &str| RootedPath::new(VirtualRoot::Project, VirtualPath::new(p).expect("a valid path")).intern();
    Assets {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        // Both paths are constant and valid; a fixed id per path also keeps Typst's file-id
        // table (which never shrinks) from growing with each document.
        main: path("/template.typ"),
        data: path(&format!("/{DATA_FILE}")),
    }
});

struct DocumentWorld {
    main: Source,
    data: Bytes,
    today: Datetime,
}

impl World for DocumentWorld {
    fn library(&self) -> &LazyHash<Library> {
        &ASSETS.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &ASSETS.book
    }

    fn main(&self) -> FileId {
        ASSETS.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == ASSETS.main { Ok(self.main.clone()) } else { Err(FileError::NotFound(id.vpath().get_without_slash().into())) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == ASSETS.data {
            Ok(self.data.clone())
        } else if id == ASSETS.main {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::NotFound(id.vpath().get_without_slash().into()))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        ASSETS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn typst_datetime(now: DateTime<Utc>) -> Option<Datetime> {
    Datetime::from_ymd_hms(
        now.year(),
        u8::try_from(now.month()).ok()?,
        u8::try_from(now.day()).ok()?,
        u8::try_from(now.hour()).ok()?,
        u8::try_from(now.minute()).ok()?,
        u8::try_from(now.second()).ok()?,
    )
}

/// Renders `template` with `data` to PDF. `now` is the document's creation date and Typst's
/// `datetime.today()`.
pub fn render_pdf(template: &str, data: &impl serde::Serialize, now: DateTime<Utc>) -> Result<Vec<u8>, RenderError> {
    let data = serde_json::to_vec(data).map_err(|e| RenderError::Data(e.to_string()))?;
    let today = typst_datetime(now).ok_or_else(|| RenderError::Data("the time is out of range".into()))?;
    let world = DocumentWorld { main: Source::new(ASSETS.main, template.to_owned()), data: Bytes::new(data), today };
    let result = typst::compile::<PagedDocument>(&world).output;
    let document = result.map_err(|errors| template_error(&world, errors.as_slice()))?;
    let options = PdfOptions { timestamp: Some(Timestamp::new_utc(today)), ..PdfOptions::default() };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| RenderError::Export(messages(&errors)))?;
    // Typst memoises across compilations; drop what the last few did not reuse.
    typst::comemo::evict(10);
    Ok(pdf)
}

fn messages(errors: &[SourceDiagnostic]) -> String {
    errors.iter().filter(|d| d.severity == Severity::Error).map(|d| d.message.to_string()).collect::<Vec<_>>().join("; ")
}

fn template_error(world: &DocumentWorld, errors: &[SourceDiagnostic]) -> RenderError {
    let first = errors.iter().find(|d| d.severity == Severity::Error).or(errors.first());
    let Some(first) = first else {
        return RenderError::Template { message: "unknown error".into(), location: None };
    };
    let mut message = first.message.to_string();
    for hint in &first.hints {
        message.push_str(&format!(" (hint: {})", hint.v));
    }
    let location = if first.span.id() == Some(ASSETS.main) {
        world.range(first.span).and_then(|r| world.main.lines().byte_to_line_column(r.start)).map(|(l, c)| (l + 1, c + 1))
    } else {
        None
    };
    RenderError::Template { message, location }
}
