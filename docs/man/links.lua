-- pandoc filter for the man pages: a link to another page of docs/ (a relative .md path) means
-- nothing in a terminal, so only its text is kept; links with a scheme (https:, man:) stay.
function Link(el)
  if not el.target:match('^%a[%w+.-]*:') then return el.content end
end
