# The referral landing page and its neighbours (issue 15): /r/CODE, /r, 404. English.
landing-title = { $referrer } invited you
landing-og-title = { $referrer } invited you to plan your wedding with Bouquet
landing-og-personal = A personal invitation from { $referrer }
landing-heading = { $referrer } invited you
landing-lede = { $trade ->
    [photographer] Your photographer
    [videographer] Your videographer
    [venue] Your venue
    [florist] Your florist
    [caterer] Your caterer
    [planner] Your planner
    [band_dj] Your band or DJ
    [cake] Your cake maker
    [hair_makeup] Your hair and make-up artist
    [dress] Your dress shop
    [stationery] Your stationer
    [officiant] Your officiant
    [transport] Your wedding transport
    [other] Your supplier
   *[none] Your friends
} would love to help plan your day. Leave your details and we'll set you up.
landing-money-off = { $currency } { $amount } off
landing-your-names = Your names
landing-names-example = Anna & Ben
landing-email = Email
landing-wedding-date = Wedding date
landing-if-known = (if you know it)
landing-claim = Claim my invitation
landing-code-note = Code { $code }. We only use your details to set up your account.
landing-no-names = Please tell us your names.
landing-names-too-long = Your names are a little long for us — 200 characters at most.
landing-bad-email = That email address doesn't look right.
landing-bad-date = Please give the wedding date as a date, e.g. 2027-06-12.
code-check-heading = Let's check that code
code-check-body = We couldn't read that code: { $problem } Please type it again exactly as printed.
code-problem-shape = a code looks like LOVE-7KQMX4TPR8, a wedding word, a dash and 10 letters or numbers.
code-problem-word = "{ $word }" is not one of Bouquet's code words.
code-problem-character = "{ $character }" cannot appear in a code.
code-problem-check = this code has a typo: its last character does not match the rest.
code-unknown-heading = We don't know that code
code-unknown-body = No invitation uses the code { $code }. Please check it against your card or email.
code-expired-heading = This invitation has ended
code-expired-body = { $referrer }'s invitation has expired. Ask them for a new one — they'll be glad you did.
code-open-heading = Open your invitation
code-open-body = Type the code printed on your card or invitation.
code-type-label = Type the code from your card or invitation
code-open-button = Open invitation
not-found-heading = Nothing here
not-found-body = This page doesn't exist. Have a code? Type it below.
