# La página de invitación y sus vecinas (issue 15): /r/CÓDIGO, /r, 404. Español.
landing-title = { $referrer } te ha invitado
landing-og-title = { $referrer } te invita a planear tu boda con Bouquet
landing-og-personal = Una invitación personal de { $referrer }
landing-heading = { $referrer } te ha invitado
landing-lede = { $trade ->
    [photographer] Tu fotógrafo quiere
    [videographer] Tu videógrafo quiere
    [venue] Tu lugar de celebración quiere
    [florist] Tu floristería quiere
    [caterer] Tu catering quiere
    [planner] Tu wedding planner quiere
    [band_dj] Tu grupo o DJ quiere
    [cake] Tu pastelería quiere
    [hair_makeup] Tu peluquería y maquillaje quiere
    [dress] Tu tienda de vestidos quiere
    [stationery] Tu papelería quiere
    [officiant] Tu oficiante quiere
    [transport] Tu transporte de boda quiere
    [other] Tu proveedor quiere
   *[none] Tus amigos quieren
} ayudarte a planear tu día. Déjanos tus datos y te lo preparamos todo.
landing-money-off = { $amount } { $currency } de descuento
landing-your-names = Vuestros nombres
landing-names-example = Ana y Benito
landing-email = Correo electrónico
landing-wedding-date = Fecha de la boda
landing-if-known = (si ya la sabéis)
landing-claim = Aceptar mi invitación
landing-code-note = Código { $code }. Solo usamos tus datos para crear tu cuenta.
landing-no-names = Dinos vuestros nombres, por favor.
landing-names-too-long = Vuestros nombres son un poco largos: 200 caracteres como máximo.
landing-bad-email = Esa dirección de correo no parece correcta.
landing-bad-date = Indica la fecha de la boda como fecha, por ejemplo 2027-06-12.
code-check-heading = Revisemos ese código
code-check-body = No hemos podido leer ese código: { $problem } Escríbelo de nuevo tal y como aparece impreso.
code-problem-shape = un código tiene esta forma: LOVE-7KQMX4TPR8, una palabra de boda, un guion y 10 letras o números.
code-problem-word = «{ $word }» no es una de las palabras de código de Bouquet.
code-problem-character = «{ $character }» no puede aparecer en un código.
code-problem-check = este código tiene una errata: su último carácter no encaja con el resto.
code-unknown-heading = No conocemos ese código
code-unknown-body = Ninguna invitación usa el código { $code }. Compruébalo con tu tarjeta o tu correo.
code-expired-heading = Esta invitación ha terminado
code-expired-body = La invitación de { $referrer } ha caducado. Pídele una nueva: le alegrará que lo hagas.
code-open-heading = Abre tu invitación
code-open-body = Escribe el código impreso en tu tarjeta o invitación.
code-type-label = Escribe el código de tu tarjeta o invitación
code-open-button = Abrir la invitación
not-found-heading = Aquí no hay nada
not-found-body = Esta página no existe. ¿Tienes un código? Escríbelo abajo.
