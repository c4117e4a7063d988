//! PAdES B-T (ETSI EN 319 142-1): a CAdES detached signature in an incremental update of the
//! PDF, with an RFC 3161 time-stamp over the signature value.
//!
//! The update adds a signature dictionary whose `/Contents` is a zero-filled placeholder, an
//! invisible signature field on the first page and an `/AcroForm` in the catalogue. The
//! `/ByteRange` then covers the whole file except the placeholder, the CMS signature is made
//! over that range, time-stamped, and written into the placeholder. Nothing else changes, so
//! the offsets lopdf wrote into the cross-reference section stay true.

use chrono::{DateTime, Utc};
use der::Encode;
use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, StringFormat};
use sha2::{Digest, Sha256};

use crate::cms::{self as kcms, CmsError};
use crate::oid;
use crate::signer::Signer;
use crate::tsp::{TsaClient, TsaError};

/// Bytes reserved for the CMS signature (written as twice as many hex digits).
pub const SIGNATURE_SPACE: usize = 24 * 1024;

const BYTE_RANGE_PLACEHOLDER: &[u8] = b"[0 9999999999 9999999999 9999999999]";

/// Why a PDF could not be sealed. The input is never returned half-signed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The input is not a PDF lopdf can update.
    #[error("the document is not a usable PDF: {0}")]
    Pdf(String),
    /// Signing failed.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// No time-stamp could be had.
    #[error(transparent)]
    TimeStamp(#[from] TsaError),
    /// The signature did not fit the reserved space.
    #[error("the signature ({0} bytes) does not fit the reserved {SIGNATURE_SPACE} bytes")]
    TooLarge(usize),
}

fn pdf_err(e: impl std::fmt::Display) -> SealError {
    SealError::Pdf(e.to_string())
}

/// A PDF with a signature placeholder, waiting for its signature.
#[derive(Debug)]
pub struct Prepared {
    bytes: Vec<u8>,
    /// Offset of the `<` that opens `/Contents`.
    contents_start: usize,
    /// Offset just past the `>` that closes it.
    contents_end: usize,
}

impl Prepared {
    /// The `/ByteRange` values: everything but the `/Contents` hex string.
    pub fn byte_range(&self) -> [usize; 4] {
        [0, self.contents_start, self.contents_end, self.bytes.len() - self.contents_end]
    }

    /// SHA-256 of the bytes the signature covers.
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(&self.bytes[..self.contents_start]);
        hash.update(&self.bytes[self.contents_end..]);
        hash.finalize().into()
    }

    /// Writes the DER signature into the placeholder and returns the finished PDF.
    pub fn finish(mut self, signature_der: &[u8]) -> Result<Vec<u8>, SealError> {
        let hex = hex::encode_upper(signature_der);
        let slot = &mut self.bytes[self.contents_start + 1..self.contents_end - 1];
        if hex.len() > slot.len() {
            return Err(SealError::TooLarge(signature_der.len()));
        }
        slot[..hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// Adds the signature dictionary, field and placeholder to `pdf` as an incremental update.
///
/// `signer_name` goes into `/Name`, `now` into `/M` (the claimed signing time; the trusted time
/// is the time-stamp's).
pub fn prepare(pdf: &[u8], signer_name: &str, now: DateTime<Utc>) -> Result<Prepared, SealError> {
    let prev = lopdf::Document::load_mem(pdf).map_err(pdf_err)?;
    if prev.is_encrypted() {
        return Err(SealError::Pdf("the document is encrypted".into()));
    }
    let catalog_id = prev.trailer.get(b"Root").and_then(Object::as_reference).map_err(pdf_err)?;
    let page_id = *prev.get_pages().values().next().ok_or_else(|| SealError::Pdf("the document has no page".into()))?;
    let mut doc = IncrementalDocument::create_from(pdf.to_vec(), prev);

    let mut sig = Dictionary::new();
    sig.set("Type", Object::Name(b"Sig".to_vec()));
    sig.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
    sig.set("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec()));
    sig.set("ByteRange", Object::Array(vec![0.into(), 9_999_999_999i64.into(), 9_999_999_999i64.into(), 9_999_999_999i64.into()]));
    sig.set("Contents", Object::String(vec![0u8; SIGNATURE_SPACE], StringFormat::Hexadecimal));
    sig.set("M", Object::string_literal(now.format("D:%Y%m%d%H%M%SZ").to_string()));
    sig.set("Name", Object::String(pdf_text(signer_name), StringFormat::Literal));
    let new = &mut doc.new_document;
    let sig_id = new.add_object(Object::Dictionary(sig));

    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", Object::string_literal("Seal"));
    field.set("V", Object::Reference(sig_id));
    field.set("F", Object::Integer(132));
    field.set("Rect", Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]));
    field.set("P", Object::Reference(page_id));
    let field_id = new.add_object(Object::Dictionary(field));

    add_annotation(&mut doc, page_id, field_id)?;
    add_form_field(&mut doc, catalog_id, field_id)?;

    let mut bytes = Vec::with_capacity(pdf.len() + 2 * SIGNATURE_SPACE + 4096);
    doc.save_to(&mut bytes).map_err(pdf_err)?;
    locate_and_fill(bytes, pdf.len())
}

/// Text for a PDF text string: PDFDocEncoding covers Latin-1 only, so others go as UTF-16BE.
fn pdf_text(text: &str) -> Vec<u8> {
    if text.chars().all(|c| (c as u32) < 0x80) {
        return text.as_bytes().to_vec();
    }
    let mut out = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

fn add_annotation(doc: &mut IncrementalDocument, page_id: ObjectId, field_id: ObjectId) -> Result<(), SealError> {
    doc.opt_clone_object_to_new_document(page_id).map_err(pdf_err)?;
    let annots = doc.new_document.get_dictionary(page_id).map_err(pdf_err)?.get(b"Annots").ok().cloned();
    match annots {
        Some(Object::Reference(array_id)) => {
            doc.opt_clone_object_to_new_document(array_id).map_err(pdf_err)?;
            let array = doc.new_document.get_object_mut(array_id).and_then(Object::as_array_mut).map_err(pdf_err)?;
            array.push(Object::Reference(field_id));
        }
        Some(Object::Array(mut array)) => {
            array.push(Object::Reference(field_id));
            doc.new_document.get_dictionary_mut(page_id).map_err(pdf_err)?.set("Annots", Object::Array(array));
        }
        _ => {
            let page = doc.new_document.get_dictionary_mut(page_id).map_err(pdf_err)?;
            page.set("Annots", Object::Array(vec![Object::Reference(field_id)]));
        }
    }
    Ok(())
}

fn add_form_field(doc: &mut IncrementalDocument, catalog_id: ObjectId, field_id: ObjectId) -> Result<(), SealError> {
    doc.opt_clone_object_to_new_document(catalog_id).map_err(pdf_err)?;
    let existing = doc.new_document.get_dictionary(catalog_id).map_err(pdf_err)?.get(b"AcroForm").ok().cloned();
    let mut form = match existing {
        Some(Object::Dictionary(form)) => form,
        Some(Object::Reference(id)) => doc.get_prev_documents().get_dictionary(id).map_err(pdf_err)?.clone(),
        _ => Dictionary::new(),
    };
    let mut fields = match form.get(b"Fields") {
        Ok(Object::Array(fields)) => fields.clone(),
        Ok(Object::Reference(id)) => doc.get_prev_documents().get_object(*id).and_then(Object::as_array).map_err(pdf_err)?.clone(),
        _ => Vec::new(),
    };
    fields.push(Object::Reference(field_id));
    form.set("Fields", Object::Array(fields));
    form.set("SigFlags", Object::Integer(3));
    doc.new_document.get_dictionary_mut(catalog_id).map_err(pdf_err)?.set("AcroForm", Object::Dictionary(form));
    Ok(())
}

/// Finds the placeholders lopdf wrote after `from` and fills in the real `/ByteRange`.
fn locate_and_fill(mut bytes: Vec<u8>, from: usize) -> Result<Prepared, SealError> {
    let zeros = vec![b'0'; 2 * SIGNATURE_SPACE];
    let contents_start = find(&bytes, from, &zeros).and_then(|i| i.checked_sub(1)).filter(|&i| bytes[i] == b'<');
    let range_at = find(&bytes, from, BYTE_RANGE_PLACEHOLDER);
    let (Some(contents_start), Some(range_at)) = (contents_start, range_at) else {
        return Err(SealError::Pdf("the signature placeholder was not written as expected".into()));
    };
    let contents_end = contents_start + 2 * SIGNATURE_SPACE + 2;
    if bytes.get(contents_end - 1) != Some(&b'>') {
        return Err(SealError::Pdf("the signature placeholder was not written as expected".into()));
    }
    let [a, b, c, d] = [0, contents_start, contents_end, bytes.len() - contents_end];
    let mut range = format!("[{a} {b} {c} {d}]").into_bytes();
    if range.len() > BYTE_RANGE_PLACEHOLDER.len() {
        return Err(SealError::Pdf("the document is too large to sign".into()));
    }
    // Pad inside the brackets so the length, and with it every offset, stays the same.
    let close = range.pop().unwrap_or(b']');
    range.resize(BYTE_RANGE_PLACEHOLDER.len() - 1, b' ');
    range.push(close);
    bytes[range_at..range_at + range.len()].copy_from_slice(&range);
    Ok(Prepared { bytes, contents_start, contents_end })
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Seals `pdf` as PAdES B-T with `signer`, time-stamped by `tsa`.
///
/// Fails, returning nothing, when the authority cannot be reached: a sealed document always
/// carries its time-stamp.
pub async fn seal(pdf: &[u8], signer: &dyn Signer, tsa: &TsaClient, now: DateTime<Utc>) -> Result<Vec<u8>, SealError> {
    let name = signer_common_name(signer);
    let prepared = prepare(pdf, &name, now)?;
    let mut signed = kcms::sign(signer, oid::DATA, None, &prepared.digest())?;
    let token = tsa.time_stamp(kcms::signature_value(&signed)?).await?;
    kcms::add_signature_time_stamp(&mut signed, &token)?;
    let der = kcms::content_info(&signed)?.to_der().map_err(CmsError::from)?;
    prepared.finish(&der)
}

/// The signer certificate's subject common name (or the whole subject).
pub fn signer_common_name(signer: &dyn Signer) -> String {
    let subject = &signer.certificate().tbs_certificate.subject;
    for rdn in subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == oid::COMMON_NAME {
                if let Ok(s) = der::asn1::Utf8StringRef::try_from(&atv.value) {
                    return s.as_str().to_owned();
                }
                if let Ok(s) = der::asn1::PrintableStringRef::try_from(&atv.value) {
                    return s.as_str().to_owned();
                }
            }
        }
    }
    subject.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_spans_the_whole_file_but_the_signature() {
        let pdf = crate::render::render_pdf(crate::DEFAULT_DECISION_TEMPLATE, &crate::Decision::sample(1), Utc::now()).unwrap();
        let prepared = prepare(&pdf, "Próba Bélyegző", Utc::now()).unwrap();
        let [a, b, c, d] = prepared.byte_range();
        assert_eq!((a, c - b, c + d), (0, 2 * SIGNATURE_SPACE + 2, prepared.bytes.len()));
        assert!(prepared.bytes.starts_with(&pdf), "an incremental update keeps the original bytes");
        let text = String::from_utf8_lossy(&prepared.bytes[pdf.len()..]).into_owned();
        assert!(text.contains(&format!("/ByteRange[0 {b} {c} {d}")), "{}", &text[..400.min(text.len())]);
    }

    #[test]
    fn not_a_pdf_is_refused() {
        assert!(matches!(prepare(b"%PDF-1.7 but not really", "x", Utc::now()), Err(SealError::Pdf(_))));
        let signed = Prepared { bytes: vec![b'<', b'0', b'0', b'>'], contents_start: 0, contents_end: 4 };
        assert!(matches!(signed.finish(&[1, 2]), Err(SealError::TooLarge(2))));
    }
}
