//! Leads (线索): who may become a customer, how promising they look (scoring), and
//! what they became (conversion).

pub mod lead;
pub mod scoring;
