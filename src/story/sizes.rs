//! How large the stories in the window are: how many stories have been given how many
//! articles, in bands, kept up as articles join and stories leave.

/// The bands' lower bounds; each band runs to the next one's, the last without end.
const LOWER_BOUNDS: [u32; 6] = [1, 2, 3, 6, 11, 51];

/// The bands' names, as metric labels.
pub const BANDS: [&str; 6] = ["1", "2", "3-5", "6-10", "11-50", "51+"];

/// Stories by size band.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StorySizes {
    stories: [u64; 6],
}

impl StorySizes {
    /// A story founded: one article.
    pub fn founded(&mut self) {
        self.stories[0] += 1;
    }

    /// A story of `size` articles was given one more.
    pub fn grew(&mut self, size: u32) {
        let (from, to) = (band(size), band(size.saturating_add(1)));
        if from != to {
            self.stories[from] = self.stories[from].saturating_sub(1);
            self.stories[to] += 1;
        }
    }

    /// A story of `size` articles left the window.
    pub fn left(&mut self, size: u32) {
        let band = band(size);
        self.stories[band] = self.stories[band].saturating_sub(1);
    }

    /// Each band's name with its count of stories.
    pub fn bands(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        BANDS.iter().copied().zip(self.stories.iter().copied())
    }
}

fn band(size: u32) -> usize {
    LOWER_BOUNDS
        .iter()
        .rposition(|&lower| size >= lower)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(sizes: &StorySizes) -> Vec<u64> {
        sizes.bands().map(|(_, count)| count).collect()
    }

    #[test]
    fn stories_move_up_the_bands_as_they_grow_and_leave_from_theirs() {
        let mut sizes = StorySizes::default();
        sizes.founded();
        sizes.founded();
        for size in 1..=10 {
            sizes.grew(size);
        }
        assert_eq!(counts(&sizes), [1, 0, 0, 0, 1, 0]);
        sizes.left(11);
        sizes.grew(1);
        assert_eq!(counts(&sizes), [0, 1, 0, 0, 0, 0]);
        for size in 2..=60 {
            sizes.grew(size);
        }
        assert_eq!(counts(&sizes), [0, 0, 0, 0, 0, 1]);
        assert_eq!(band(u32::MAX), 5);
    }
}
