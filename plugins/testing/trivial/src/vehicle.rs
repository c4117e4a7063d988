//! The trivial plugin's look-up in plain Rust, shared by the component and by the native side
//! of `kapu bench plugins` (which includes this file), so both run the very same code.

/// A vehicle as the trivial look-up answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundVehicle {
    /// The normalised plate.
    pub plate: String,
    /// Make and model.
    pub make_model: String,
    /// Category.
    pub category: String,
    /// Whether the keeper lives at the given postcode.
    pub holder_at_address: bool,
}

/// Normalises the plate and answers a fixed vehicle; `None` for an empty plate.
pub fn lookup(plate: &str, holder_postcode: Option<&str>) -> Option<FoundVehicle> {
    let plate = plate.trim().to_ascii_uppercase();
    if plate.is_empty() {
        return None;
    }
    Some(FoundVehicle {
        plate,
        make_model: "Suzuki Swift".to_owned(),
        category: "M1".to_owned(),
        holder_at_address: holder_postcode == Some("1126"),
    })
}
