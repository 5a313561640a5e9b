//! The working-time calendar: which days public bodies work, their working hours, the statutory
//! holidays (lunar ones computed) and the deadline arithmetic citizen reports are held to.

pub mod lunar;
