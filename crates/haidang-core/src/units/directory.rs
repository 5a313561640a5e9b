//! The point → unit index as the rest of the system shares it: replaced whole after an import,
//! read by the console's lookups and by the data hub, which files each entity under the commune
//! its location lies in.

use std::sync::{Arc, RwLock};

use super::UnitIndex;

/// Where a point lies: unit codes, most specific first (commune, then province).
pub trait UnitLocator: Send + Sync {
    fn units_at(&self, lon: f64, lat: f64) -> Vec<String>;
}

pub struct UnitDirectory {
    index: RwLock<Arc<UnitIndex>>,
}

impl UnitDirectory {
    pub fn new(index: UnitIndex) -> UnitDirectory {
        UnitDirectory { index: RwLock::new(Arc::new(index)) }
    }

    pub fn current(&self) -> Arc<UnitIndex> {
        match self.index.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, index: UnitIndex) {
        match self.index.write() {
            Ok(mut guard) => *guard = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
    }
}

impl UnitLocator for UnitDirectory {
    fn units_at(&self, lon: f64, lat: f64) -> Vec<String> {
        self.current().lookup_all(lon, lat).into_iter().map(str::to_string).collect()
    }
}
